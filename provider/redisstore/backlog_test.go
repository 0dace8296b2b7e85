package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// TestABacklogDrainsWithoutWaitingForTheInterval: more sessions fall due
// at once than two passes claim (50 each), and the jobs, run as the
// gateway runs them with an interval of an hour, expire them all at once
// rather than one batch an hour.
func TestABacklogDrainsWithoutWaitingForTheInterval(t *testing.T) {
	f := mustFixture(t, func(c *provider.Config) { c.SessionTTL = time.Millisecond })
	svc, m := f.svc, f.m
	ctx := context.Background()

	const n = 120
	sids := make([]string, n)
	for i := range n {
		order := fmt.Sprintf("backlog-%d", i)
		r, err := svc.StartSession(ctx, provider.StartInput{Request: provider.Request{Merchant: m, GUID: "g-" + order, OrderID: order,
			Fingerprint: "fp-" + order}, Type: provider.Sale, Amount: 1000, Currency: "TRY", Locale: "tr", ReturnURL: "https://shop.example/return"})
		if err != nil {
			t.Fatal(err)
		}
		sids[i] = decode(t, r)["session"].(string)
	}

	jobs, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunJobs(jobs, time.Hour, func(err error) { t.Errorf("a pass failed: %v", err) })
	}()
	defer func() { stop(); <-done }()

	deadline := time.Now().Add(20 * time.Second)
	for _, sid := range sids {
		for {
			sess, err := svc.Session(ctx, sid)
			if err != nil {
				t.Fatal(err)
			}
			if sess.Phase == provider.PhaseExpired {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session %s still %s after 20 s: the jobs waited for their interval with more due", sid, sess.Phase)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
