package idempotency_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/idempotency"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

type keeperFixture struct {
	rdb    *redis.Client
	prefix string
}

func mustKeeper(tb testing.TB, lease, ttl time.Duration) (*idempotency.Keeper, *keeperFixture) {
	tb.Helper()
	rdb := redistest.Shared(tb).Client(tb)
	return idempotency.NewKeeper(rdb, lease, ttl), &keeperFixture{rdb: rdb, prefix: redistest.Prefix(tb)}
}

func (f *keeperFixture) key(name string) string { return f.prefix + ":" + name }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, within time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustClaim(tb testing.TB, k *idempotency.Keeper, key, fp, token string, want idempotency.Kind) idempotency.Found {
	tb.Helper()
	f, err := k.Claim(context.Background(), key, fp, token)
	if err != nil {
		tb.Fatalf("Claim(%s): %v", key, err)
	}
	if f.Kind != want {
		tb.Fatalf("Claim(%s) kind = %d, want %d", key, f.Kind, want)
	}
	return f
}

func TestKeeperLifecycle(t *testing.T) {
	k, fx := mustKeeper(t, time.Minute, time.Hour)
	ctx := context.Background()
	key := fx.key("g1")

	mustClaim(t, k, key, "fp", "tok", idempotency.New)
	mustClaim(t, k, key, "fp", "tok2", idempotency.InFlight)
	mustClaim(t, k, key, "other-fp", "tok3", idempotency.Reused)

	// Any bytes, not only UTF-8 text, come back as they were stored.
	body := []byte("{\"a\":1}\x00\xff\xfe\n\r\t \"ü\"")
	expires, err := k.Complete(ctx, key, "fp", 201, body)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(expires); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("expires in %v, want about the TTL", d)
	}
	for range 3 {
		f := mustClaim(t, k, key, "fp", "tok4", idempotency.Replay)
		if f.Status != 201 || !bytes.Equal(f.Body, body) {
			t.Fatalf("replay = %d %q, want 201 %q", f.Status, f.Body, body)
		}
		if !f.Expires.Equal(expires.Truncate(time.Millisecond)) {
			t.Fatalf("replay expires %v, want %v", f.Expires, expires)
		}
	}
	mustClaim(t, k, key, "other-fp", "tok5", idempotency.Reused)
	if ttl := fx.rdb.PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("a finished record lives %v, want the TTL", ttl)
	}
}

func TestKeeperRelease(t *testing.T) {
	k, fx := mustKeeper(t, time.Minute, time.Hour)
	ctx := context.Background()
	key := fx.key("g1")
	mustClaim(t, k, key, "fp", "tok", idempotency.New)

	if err := k.Release(ctx, key, "someone-else"); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, k, key, "fp", "tok2", idempotency.InFlight)

	if err := k.Release(ctx, key, "tok"); err != nil {
		t.Fatal(err)
	}
	// Released: the same guid runs again, even with another body.
	mustClaim(t, k, key, "fp2", "tok3", idempotency.New)

	// A finished record cannot be released: its reply stands.
	if _, err := k.Complete(ctx, key, "fp2", 200, []byte("done")); err != nil {
		t.Fatal(err)
	}
	if err := k.Release(ctx, key, "tok3"); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, k, key, "fp2", "tok4", idempotency.Replay)
}

// TestKeeperLeaseExpiry: a request that died holding a claim frees its
// guid when the lease runs out, and not before.
func TestKeeperLeaseExpiry(t *testing.T) {
	const lease = 150 * time.Millisecond
	k, fx := mustKeeper(t, lease, time.Hour)
	ctx := context.Background()
	key := fx.key("g1")
	claimed := time.Now()
	mustClaim(t, k, key, "fp", "dead", idempotency.New)
	if ttl := fx.rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > lease {
		t.Fatalf("a running claim lives %v, want at most the lease %v", ttl, lease)
	}

	var got idempotency.Found
	waitFor(t, "the lease to run out", 5*time.Second, func() bool {
		f, err := k.Claim(ctx, key, "fp", "retry")
		if err != nil {
			t.Fatal(err)
		}
		if f.Kind == idempotency.InFlight {
			return false
		}
		got = f
		return true
	})
	if got.Kind != idempotency.New {
		t.Fatalf("after the lease: kind %d, want New", got.Kind)
	}
	if elapsed := time.Since(claimed); elapsed < lease-10*time.Millisecond {
		t.Fatalf("the guid was free after %v, before its %v lease", elapsed, lease)
	}

	// The retry finishes first; the dead request's late reply must not replace it.
	if _, err := k.Complete(ctx, key, "fp", 200, []byte("retry")); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Complete(ctx, key, "fp", 500, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if f := mustClaim(t, k, key, "fp", "x", idempotency.Replay); string(f.Body) != "retry" || f.Status != 200 {
		t.Fatalf("replay = %d %q, want the retry's 200 \"retry\"", f.Status, f.Body)
	}
}

// TestKeeperTTL: a finished guid is forgotten after the idempotency TTL.
func TestKeeperTTL(t *testing.T) {
	k, fx := mustKeeper(t, time.Minute, 100*time.Millisecond)
	ctx := context.Background()
	key := fx.key("g1")
	mustClaim(t, k, key, "fp", "tok", idempotency.New)
	if _, err := k.Complete(ctx, key, "fp", 200, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the record to expire", 5*time.Second, func() bool {
		return fx.rdb.Exists(ctx, key).Val() == 0
	})
	mustClaim(t, k, key, "other", "tok2", idempotency.New)
}

// TestKeeperOneClaimWins: fifty claims of one guid at once, one wins.
func TestKeeperOneClaimWins(t *testing.T) {
	k, fx := mustKeeper(t, time.Minute, time.Hour)
	key := fx.key("g1")
	var wg sync.WaitGroup
	kinds := make(chan idempotency.Kind, 50)
	for i := range 50 {
		wg.Go(func() {
			f, err := k.Claim(context.Background(), key, "fp", fmt.Sprint("tok", i))
			if err != nil {
				t.Error(err)
			}
			kinds <- f.Kind
		})
	}
	wg.Wait()
	close(kinds)
	count := map[idempotency.Kind]int{}
	for kind := range kinds {
		count[kind]++
	}
	if count[idempotency.New] != 1 || count[idempotency.InFlight] != 49 {
		t.Fatalf("claims = %v, want one New and 49 InFlight", count)
	}
}

// TestKeeperStoreDown: with Redis gone every call is an error, never a
// claim; the caller fails closed.
func TestKeeperStoreDown(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	k := idempotency.NewKeeper(rdb, time.Minute, time.Hour)
	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if f, err := k.Claim(ctx, "g", "fp", "tok"); err == nil {
		t.Fatalf("Claim with Redis down = %+v, want an error", f)
	}
	if _, err := k.Complete(ctx, "g", "fp", 200, nil); err == nil {
		t.Fatalf("Complete with Redis down succeeded")
	}
	if err := k.Release(ctx, "g", "tok"); err == nil {
		t.Fatalf("Release with Redis down succeeded")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		reply []any
		want  idempotency.Found
		ok    bool
	}{
		{nil, idempotency.Found{}, false},
		{[]any{"reused"}, idempotency.Found{Kind: idempotency.Reused}, true},
		{[]any{"inflight"}, idempotency.Found{Kind: idempotency.InFlight}, true},
		{[]any{"replay", "200", "body", "1700000000000"}, idempotency.Found{Kind: idempotency.Replay, Status: 200, Body: []byte("body"), Expires: time.UnixMilli(1700000000000)}, true},
		{[]any{"replay", "200"}, idempotency.Found{}, false},
		{[]any{"claimed", "x"}, idempotency.Found{}, false},
	}
	for _, tt := range tests {
		got, ok := idempotency.Parse(tt.reply)
		if ok != tt.ok || got.Kind != tt.want.Kind || got.Status != tt.want.Status ||
			!bytes.Equal(got.Body, tt.want.Body) || !got.Expires.Equal(tt.want.Expires) {
			t.Errorf("Parse(%v) = %+v, %v; want %+v, %v", tt.reply, got, ok, tt.want, tt.ok)
		}
	}
}
