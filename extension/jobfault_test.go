package extension_test

import (
	"context"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/audit"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestAJobChangeRedisRefusedIsAppliedOnceLater: a pass of the jobs writes
// its changes several to a round trip. When Redis, full, refuses one, the
// payment does not move and no webhook event is queued for it; the entry
// stays claimed, and the pass after the lease asks the bank again and
// applies the change once, with one event.
func TestAJobChangeRedisRefusedIsAppliedOnceLater(t *testing.T) {
	srv := redistest.Start(t)
	g := mustGateway(t, onRedis(srv), withCallTimeout(10*time.Second),
		withWebhooks("http://127.0.0.1:9/hooks", []time.Duration{0}))
	ctx := context.Background()
	orders := []string{"o-full-1", "o-full-2", "o-full-3", "o-full-4"}
	for _, o := range orders {
		s := g.mustStart(t, o)
		if _, f := returned(t, newBrowser(t).pay(t, s.RedirectURL, cardOf(sandbox.CardPendingOK))); f["status"] != "PENDING" {
			t.Fatalf("%s with a pending card: %v", o, f)
		}
	}
	events := func() int64 {
		t.Helper()
		st, err := g.store.OutboxStats(ctx, g.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return st.Depth
	}
	before := events()

	// The bank holds one payment's outcome while the others resolve;
	// then Redis fills, and the held outcome's change is refused.
	g.clock.Add(10 * time.Second)
	entered, release := g.bank.holdAnswer(t, "Status")
	pass := make(chan error, 1)
	go func() { _, err := g.svc.RunJobsOnce(ctx); pass <- err }()
	<-entered
	held := g.bank.references("Status")[0]
	redistest.Eventually(t, 10*time.Second, "the three payments the bank did not hold resolved", func() bool {
		return events() == before+3
	})
	if err := srv.Client(t).ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-pass; err == nil {
		t.Fatalf("a pass whose change Redis refused reported no error")
	}
	if err := srv.Client(t).ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if n := events(); n != before+3 {
		t.Fatalf("%d events queued after the refused change, want %d: the refused one queued its own", n, before+3)
	}
	resolved := 0
	for _, o := range orders {
		if h, _ := g.mustHistory(t, o); h.Status == "RESOLVED" {
			resolved++
		}
	}
	if resolved != 3 {
		t.Fatalf("%d payments resolved after the refused change, want the 3 the bank did not hold (%s held)", resolved, held)
	}

	// Within the lease the entry is still claimed: a pass leaves it alone.
	if _, err := g.svc.RunJobsOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := g.bank.Calls("Status"); n != len(orders) {
		t.Fatalf("the bank was asked %d times within the lease, want %d", n, len(orders))
	}
	// After it, the next pass asks again and applies the change once.
	g.clock.Add(40 * time.Second)
	for range 2 {
		if _, err := g.svc.RunJobsOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.bank.Calls("Status"); n != len(orders)+1 {
		t.Fatalf("the bank was asked %d times, want %d: once more for %s", n, len(orders)+1, held)
	}
	if n := events(); n != before+4 {
		t.Fatalf("%d events queued, want %d: one for each payment", n, before+4)
	}
	for _, o := range orders {
		if h, _ := g.mustHistory(t, o); h.Status != "RESOLVED" {
			t.Errorf("%s after the lease: %+v", o, h)
		}
	}
	rep, err := audit.Run(ctx, g.store, g.bank.books, g.clock.Now(), time.Second)
	if err != nil || len(rep.Differences) > 0 || rep.Payments != len(orders) {
		t.Fatalf("ledger audit: %d payments at the bank, differences %v (%v); want %d, none", rep.Payments, rep.Differences, err, len(orders))
	}
}
