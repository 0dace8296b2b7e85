package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func refundAsk(order, guid, token string, amount provider.Money, lease time.Duration) provider.BeginInput {
	now := time.Now()
	return provider.BeginInput{
		Claim:    provider.Claim{Merchant: "m1", OrderID: order, GUID: guid, Token: token, Fingerprint: "fp-" + guid},
		Lease:    lease,
		Deadline: now.Add(lease),
		Ask:      provider.Ask{Action: provider.ActionRefund, GUID: guid, Amount: amount, Currency: "TRY", Now: now},
	}
}

func refundFinish(guid, body string) provider.FinishInput {
	return provider.FinishInput{
		Claim:  provider.Claim{Merchant: "m1", OrderID: "o1", GUID: guid, Token: "tok-1", Fingerprint: "fp-" + guid},
		Settle: &provider.Settlement{Refunded: 6000, Release: 6000},
		Step:   provider.MarshalStep(provider.Step{GUID: guid, Type: provider.ActionRefund, StatusCode: provider.StatusResolved}),
		Reply:  provider.Reply{Status: 200, Body: []byte(body), Expires: time.Now().Add(time.Hour)},
		TTL:    time.Hour, Now: time.Now(),
	}
}

// TestAClaimLivesUntilSettled: a refund whose request died after reserving
// stays claimed past its lease, in flight to a retry and counted against
// the balance, and in the doubt set past its deadline. Settled once (by
// the reconciler), it is not counted twice when the request comes back
// late, and the late request gets the settled reply.
func TestAClaimLivesUntilSettled(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	r.mustWrite(t, "m1", "o1", spec{phase: provider.PhasePurchased, typ: provider.Sale,
		expiresAt: time.Now().Add(time.Hour), authorised: 10000, captured: 10000})

	first, err := r.store.Begin(ctx, refundAsk("o1", "g1", "tok-1", 6000, 50*time.Millisecond))
	if err != nil || first.Kind != provider.Claimed || first.Session.Reserved != 6000 {
		t.Fatalf("first Begin = %+v, %v", first, err)
	}
	if ttl := r.rdb.PTTL(ctx, r.guidKey("m1", "g1")).Val(); ttl != -1 {
		t.Fatalf("the claim of a refund expires (%v): it must live until settled", ttl)
	}
	redistest.Eventually(t, 5*time.Second, "the deadline to pass", func() bool {
		ds, err := r.store.ClaimDoubts(ctx, time.Now(), time.Minute, 10)
		return err == nil && len(ds) == 1 && ds[0].ID == "g1" && ds[0].Kind == provider.DoubtOperation
	})
	if b, _ := r.store.Begin(ctx, refundAsk("o1", "g1", "tok-x", 6000, time.Minute)); b.Kind != provider.InFlight {
		t.Fatalf("same guid past the lease: kind %d, want InFlight until it is settled", b.Kind)
	}
	if b, _ := r.store.Begin(ctx, refundAsk("o1", "g2", "tok-2", 4001, time.Minute)); b.Kind != provider.Refused || b.Refusal != provider.CodeAmountExceedsBalance {
		t.Fatalf("another refund above what is left: %+v", b)
	}
	run, sess, err := r.store.DoubtfulOperation(ctx, provider.Doubt{Kind: provider.DoubtOperation, Merchant: "m1", OrderID: "o1", ID: "g1"})
	if err != nil || run.Action != provider.ActionRefund || run.Amount != 6000 || run.Fingerprint != "fp-g1" || sess.Reserved != 6000 {
		t.Fatalf("DoubtfulOperation = %+v, %+v, %v", run, sess, err)
	}

	settled, err := r.store.Finish(ctx, refundFinish("g1", `{"n":"settled"}`))
	if err != nil || string(settled.Body) != `{"n":"settled"}` {
		t.Fatalf("settling: %s, %v", settled.Body, err)
	}
	late, err := r.store.Finish(ctx, refundFinish("g1", `{"n":"late"}`))
	if err != nil || string(late.Body) != `{"n":"settled"}` {
		t.Fatalf("the late request's Finish = %s, %v; want the settled reply", late.Body, err)
	}
	h := r.hash(t, "m1", "o1")
	if h["refunded"] != "6000" || h["reserved"] != "0" || h["r:g1"] != "" {
		t.Fatalf("after two Finishes of one guid: refunded %s reserved %s r:g1 %q", h["refunded"], h["reserved"], h["r:g1"])
	}
	if n := r.rdb.LLen(ctx, r.historyKey("m1", "o1")).Val(); n != 2 {
		t.Fatalf("history has %d steps, want START and one REFUND", n)
	}
	if ds, _ := r.store.Doubts(ctx); len(ds) != 0 {
		t.Fatalf("in doubt after settling: %+v", ds)
	}
	replay, err := r.store.Begin(ctx, refundAsk("o1", "g1", "tok-4", 6000, time.Minute))
	if err != nil || replay.Kind != provider.Replayed || string(replay.Reply.Body) != `{"n":"settled"}` {
		t.Fatalf("replay = %+v (%s), %v; want the settled reply", replay, replay.Reply.Body, err)
	}
}

// TestAHeldOrderWaitsForItsSettlement: a purchase that died holding the
// order blocks other purchases and voids (busy, not stored) past its
// lease, until it is settled; then the order moves on.
func TestAHeldOrderWaitsForItsSettlement(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	r.mustWrite(t, "m1", "o1", spec{phase: provider.PhaseAuthorised, typ: provider.Auth,
		expiresAt: time.Now().Add(time.Hour), authorised: 10000})
	ask := func(a provider.Action, guid, token string, lease time.Duration) provider.BeginInput {
		now := time.Now()
		return provider.BeginInput{
			Claim: provider.Claim{Merchant: "m1", OrderID: "o1", GUID: guid, Token: token, Fingerprint: "fp-" + guid},
			Lease: lease, Deadline: now.Add(lease), Ask: provider.Ask{Action: a, GUID: guid, Amount: 4000, Now: now},
		}
	}
	if b, err := r.store.Begin(ctx, ask(provider.ActionPurchase, "p1", "t1", 30*time.Millisecond)); err != nil || b.Kind != provider.Claimed {
		t.Fatalf("purchase = %+v, %v", b, err)
	}
	time.Sleep(60 * time.Millisecond) // past the lease: nothing changes by itself
	for _, a := range []provider.Action{provider.ActionPurchase, provider.ActionVoid} {
		b, err := r.store.Begin(ctx, ask(a, "other-"+string(a), "t2", time.Minute))
		if err != nil || b.Kind != provider.Busy {
			t.Fatalf("%s by another guid while the order is held: %+v, %v", a, b, err)
		}
		if r.rdb.Exists(ctx, r.guidKey("m1", "other-"+string(a))).Val() != 0 {
			t.Fatalf("a busy answer was remembered for %s", a)
		}
	}
	if b, _ := r.store.Begin(ctx, ask(provider.ActionPurchase, "p1", "t3", time.Minute)); b.Kind != provider.InFlight {
		t.Fatalf("the holder's retry = %+v, want InFlight until it is settled", b)
	}
	_, err := r.store.Finish(ctx, provider.FinishInput{
		Claim:  provider.Claim{Merchant: "m1", OrderID: "o1", GUID: "p1", Token: "t1", Fingerprint: "fp-p1"},
		Settle: &provider.Settlement{Phase: provider.PhasePurchased, Captured: 4000},
		Reply:  provider.Reply{Status: 200, Body: []byte("{}")}, TTL: time.Hour, Now: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := r.hash(t, "m1", "o1")
	if h["phase"] != "PURCHASED" || h["captured"] != "4000" || h["op"] != "" {
		t.Fatalf("after it was settled: %v", h)
	}
	if b, _ := r.store.Begin(ctx, ask(provider.ActionVoid, "v1", "t4", time.Minute)); b.Kind != provider.Claimed {
		t.Fatalf("a void after the purchase settled: %+v", b)
	}
}

// TestConcurrentRefundsNeverOverdraw: twenty refunds of 10.00 race for a
// 100.00 purchase; exactly ten are reserved, whatever the interleaving.
func TestConcurrentRefundsNeverOverdraw(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	r.mustWrite(t, "m1", "o1", spec{phase: provider.PhasePurchased, typ: provider.Sale,
		expiresAt: time.Now().Add(time.Hour), authorised: 10000, captured: 10000})
	var wg sync.WaitGroup
	kinds := make(chan provider.BegunKind, 20)
	for i := range 20 {
		wg.Go(func() {
			b, err := r.store.Begin(ctx, refundAsk("o1", fmt.Sprint("g", i), "tok", 1000, time.Minute))
			if err != nil {
				t.Error(err)
			}
			kinds <- b.Kind
		})
	}
	wg.Wait()
	close(kinds)
	claimed := 0
	for k := range kinds {
		if k == provider.Claimed {
			claimed++
		}
	}
	if h := r.hash(t, "m1", "o1"); claimed != 10 || h["reserved"] != "10000" {
		t.Fatalf("claimed %d refunds, reserved %s; want 10 and 10000", claimed, h["reserved"])
	}
}
