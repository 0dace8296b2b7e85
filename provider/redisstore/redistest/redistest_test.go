package redistest

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"
)

// TestEmbedded: with REDISTEST_EMBEDDED=1, Start runs a miniredis whose
// TTLs run on the wall clock, and Kill closes it.
func TestEmbedded(t *testing.T) {
	t.Setenv(EmbeddedEnv, "1")
	s := Start(t)
	if s.mini == nil {
		t.Fatal("Start did not run a miniredis")
	}
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(200*time.Millisecond + 10*embeddedTick)
	for c.Exists(ctx, "k").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("a key with a 200ms TTL did not expire")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill()
	if conn, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("the miniredis still listens after Kill")
	}
}

// TestEmbeddedSkips: what only a redis-server process has skips the test
// on miniredis, saying why.
func TestEmbeddedSkips(t *testing.T) {
	t.Setenv(EmbeddedEnv, "1")
	for name, f := range map[string]func(t *testing.T){
		"RequireServer": func(t *testing.T) { RequireServer(t, "CONFIG SET maxmemory") },
		"Durable":       func(t *testing.T) { Start(t, Durable()) },
		"Restart":       func(t *testing.T) { Start(t).Restart(t) },
	} {
		var sub *testing.T
		t.Run(name, func(t *testing.T) {
			sub = t
			f(t)
			t.Error("not skipped")
		})
		if !sub.Skipped() {
			t.Errorf("%s did not skip on miniredis", name)
		}
	}
}

// TestFreeAddrIsNoClusterBusPort: no address handed out is the Cluster
// bus port (port+10000) of another, so a gateway never finds its port
// taken by a Cluster node started before it.
func TestFreeAddrIsNoClusterBusPort(t *testing.T) {
	if ephemeralLow() < 30000 {
		t.Skip("the kernel's ephemeral range starts below 30000")
	}
	ports := map[int]bool{}
	for range 500 {
		_, p, err := net.SplitHostPort(FreeAddr(t))
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if ports[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		ports[port] = true
	}
	for port := range ports {
		if ports[port+busOffset] {
			t.Fatalf("port %d was handed out, and so was its Cluster bus port %d", port, port+busOffset)
		}
	}
}
