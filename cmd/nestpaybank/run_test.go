package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestRunRefusesBadFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "no store key", args: []string{"-api-password", "p"}, want: "-store-key"},
		{name: "no API password", args: []string{"-store-key", "k"}, want: "-api-password"},
		{name: "bad Redis URL", args: []string{"-store-key", "k", "-api-password", "p", "-redis", "mysql://x"}, want: "-redis"},
		{name: "unknown flag", args: []string{"-card-log"}, want: "card-log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := run(context.Background(), c.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("run(%q) = %v, want an error naming %s", c.args, err, c.want)
			}
		})
	}
}

// TestRunServesAndStops boots the program in process: it says where it
// listens and returns cleanly when its context ends.
func TestRunServesAndStops(t *testing.T) {
	srv := redistest.Shared(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-redis", srv.URL(), "-store-key", "k", "-api-password", "p", "-prefix", redistest.Prefix(t)}, pw)
		_ = pw.Close()
	}()
	buf := make([]byte, 128)
	n, err := pr.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "listening on http://127.0.0.1:") {
		t.Fatalf("first line %q, %v", buf[:n], err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}
