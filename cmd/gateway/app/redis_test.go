package app

import (
	"context"
	"errors"
	"os"
	"runtime/debug"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

// TestEmbeddedTTLs: keys with a TTL expire on the wall clock (within a
// few ticks), keys without one stay, and Close stops the clock and the
// server, also when called twice.
func TestEmbeddedTTLs(t *testing.T) {
	e, opts, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := redis.NewUniversalClient(opts)
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "short", "1", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "forever", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(ctx, "lease", "s", "run").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.PExpire(ctx, "lease", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Exists(ctx, "short", "lease").Result(); n != 2 {
		t.Fatalf("right after SET: %d of 2 keys exist", n)
	}
	redistest.Eventually(t, 300*time.Millisecond+10*ttlTick, "the keys with a 300ms TTL to expire", func() bool {
		n, err := c.Exists(ctx, "short", "lease").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	if v, err := c.Get(ctx, "forever").Result(); err != nil || v != "1" {
		t.Fatalf("a key without a TTL: %q %v", v, err)
	}

	e.Close()
	e.Close()
	select {
	case <-e.done:
	default:
		t.Fatal("the clock still runs after Close")
	}
	if err := c.Ping(ctx).Err(); err == nil || errors.Is(err, redis.Nil) {
		t.Fatalf("the server still answers after Close: %v", err)
	}
}

// TestTuneGC: the embedded stores raise the collector's target unless
// GOGC is set, and put it back.
func TestTuneGC(t *testing.T) {
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	restore := tuneGC()
	if got := debug.SetGCPercent(embeddedGCPercent); got != embeddedGCPercent {
		t.Fatalf("GC percent with the embedded stores = %d, want %d", got, embeddedGCPercent)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent after restore = %d, want 100", got)
	}

	t.Setenv("GOGC", "150")
	tuneGC()()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC is set, yet the GC percent became %d", got)
	}
}
