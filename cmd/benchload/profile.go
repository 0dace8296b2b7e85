package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// profileWindow takes the server's CPU profile over one measured window
// (it starts when the warm-up ends) from its operator endpoints and
// writes it to file; the channel says when it is written.
func profileWindow(ctx context.Context, p *proc, s settings, file string) <-chan error {
	done := make(chan error, 1)
	go func() {
		select {
		case <-time.After(s.Warmup):
		case <-ctx.Done():
			done <- ctx.Err()
			return
		}
		secs := max(1, int(s.Duration/time.Second))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/admin/pprof/profile?seconds=%d", p.adminBase, secs), nil)
		if err != nil {
			done <- err
			return
		}
		req.SetBasicAuth(adminUser, adminPassword)
		done <- fetchTo(req, file)
	}()
	return done
}

func fetchTo(req *http.Request, file string) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s %s", req.URL.Path, resp.Status, b)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// slug names a scenario's file: "replay of a start-session" →
// "replay-of-a-start-session".
func slug(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(strings.NewReplacer(", ", "-", " ", "-", ".", "").Replace(name)))
}
