package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

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

func refundAsk(order, guid, token string, amount provider.Money, lease time.Duration) provider.BeginInput {
	return provider.BeginInput{
		Claim: provider.Claim{Merchant: "m1", OrderID: order, GUID: guid, Token: token, Fingerprint: "fp-" + guid},
		Lease: lease,
		Ask:   provider.Ask{Action: provider.ActionRefund, GUID: guid, Amount: amount, Currency: "TRY", Now: time.Now()},
	}
}

// TestRetriedGuidKeepsItsReservation: a refund whose request died after
// reserving is retried with the same guid once its lease ran out; the
// retry finds its own reservation, is not counted twice, and a late
// Finish of the dead request cannot settle it again.
func TestRetriedGuidKeepsItsReservation(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	r.mustWrite(t, "m1", "o1", spec{phase: provider.PhasePurchased, typ: provider.Sale,
		expiresAt: time.Now().Add(time.Hour), authorised: 10000, captured: 10000})

	first, err := r.store.Begin(ctx, refundAsk("o1", "g1", "tok-1", 6000, 50*time.Millisecond))
	if err != nil || first.Kind != provider.Claimed || first.Session.Reserved != 6000 {
		t.Fatalf("first Begin = %+v, %v", first, err)
	}
	// While the lease runs, the same guid is in flight and another refund
	// sees only what is left.
	if b, _ := r.store.Begin(ctx, refundAsk("o1", "g1", "tok-x", 6000, time.Minute)); b.Kind != provider.InFlight {
		t.Fatalf("same guid during the lease: kind %d, want InFlight", b.Kind)
	}
	if b, _ := r.store.Begin(ctx, refundAsk("o1", "g2", "tok-2", 4001, time.Minute)); b.Kind != provider.Refused || b.Refusal != provider.CodeAmountExceedsBalance {
		t.Fatalf("another refund above what is left: %+v", b)
	}

	waitFor(t, "the first lease to run out", 5*time.Second, func() bool {
		return r.rdb.Exists(ctx, r.guidKey("m1", "g1")).Val() == 0
	})
	retry, err := r.store.Begin(ctx, refundAsk("o1", "g1", "tok-3", 6000, time.Minute))
	if err != nil || retry.Kind != provider.Claimed {
		t.Fatalf("retry Begin = %+v, %v", retry, err)
	}
	if retry.Session.Reserved != 6000 || retry.Session.Reservations["g1"] != 6000 {
		t.Fatalf("the retry reserved again: reserved %s, reservations %v", retry.Session.Reserved, retry.Session.Reservations)
	}

	finish := func(token string, body string) error {
		return r.store.Finish(ctx, provider.FinishInput{
			Claim:  provider.Claim{Merchant: "m1", OrderID: "o1", GUID: "g1", Token: token, Fingerprint: "fp-g1"},
			Settle: &provider.Settlement{Refunded: 6000, Release: 6000},
			Step:   provider.MarshalStep(provider.Step{GUID: "g1", Type: provider.ActionRefund, StatusCode: provider.StatusResolved}),
			Reply:  provider.Reply{Status: 200, Body: []byte(body), Expires: time.Now().Add(time.Hour)},
			TTL:    time.Hour, Now: time.Now(),
		})
	}
	if err := finish("tok-3", `{"n":"retry"}`); err != nil {
		t.Fatal(err)
	}
	if err := finish("tok-1", `{"n":"late"}`); err != nil {
		t.Fatal(err)
	}
	h := r.hash(t, "m1", "o1")
	if h["refunded"] != "6000" || h["reserved"] != "0" || h["r:g1"] != "" {
		t.Fatalf("after two Finishes of one guid: refunded %s reserved %s r:g1 %q", h["refunded"], h["reserved"], h["r:g1"])
	}
	if n := r.rdb.LLen(ctx, r.historyKey("m1", "o1")).Val(); n != 2 {
		t.Fatalf("history has %d steps, want START and one REFUND", n)
	}
	replay, err := r.store.Begin(ctx, refundAsk("o1", "g1", "tok-4", 6000, time.Minute))
	if err != nil || replay.Kind != provider.Replayed || string(replay.Reply.Body) != `{"n":"retry"}` {
		t.Fatalf("replay = %+v (%s), %v; want the retry's reply", replay, replay.Reply.Body, err)
	}
}

// TestLockHolderRetried: a purchase that died holding the order's lock
// blocks other purchases and voids (busy, not stored) until its own guid
// comes back and finishes.
func TestLockHolderRetried(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	r.mustWrite(t, "m1", "o1", spec{phase: provider.PhaseAuthorised, typ: provider.Auth,
		expiresAt: time.Now().Add(time.Hour), authorised: 10000})
	ask := func(a provider.Action, guid, token string, lease time.Duration) provider.BeginInput {
		return provider.BeginInput{
			Claim: provider.Claim{Merchant: "m1", OrderID: "o1", GUID: guid, Token: token, Fingerprint: "fp-" + guid},
			Lease: lease, Ask: provider.Ask{Action: a, GUID: guid, Amount: 4000, Now: time.Now()},
		}
	}
	if b, err := r.store.Begin(ctx, ask(provider.ActionPurchase, "p1", "t1", 30*time.Millisecond)); err != nil || b.Kind != provider.Claimed {
		t.Fatalf("purchase = %+v, %v", b, err)
	}
	waitFor(t, "the purchase's lease to run out", 5*time.Second, func() bool {
		return r.rdb.Exists(ctx, r.guidKey("m1", "p1")).Val() == 0
	})
	for _, a := range []provider.Action{provider.ActionPurchase, provider.ActionVoid} {
		b, err := r.store.Begin(ctx, ask(a, "other-"+string(a), "t2", time.Minute))
		if err != nil || b.Kind != provider.Busy {
			t.Fatalf("%s by another guid while the lock is held: %+v, %v", a, b, err)
		}
		if r.rdb.Exists(ctx, r.guidKey("m1", "other-"+string(a))).Val() != 0 {
			t.Fatalf("a busy answer was remembered for %s", a)
		}
	}
	b, err := r.store.Begin(ctx, ask(provider.ActionPurchase, "p1", "t3", time.Minute))
	if err != nil || b.Kind != provider.Claimed {
		t.Fatalf("the holder's retry = %+v, %v", b, err)
	}
	err = r.store.Finish(ctx, provider.FinishInput{
		Claim:  provider.Claim{Merchant: "m1", OrderID: "o1", GUID: "p1", Token: "t3", Fingerprint: "fp-p1"},
		Settle: &provider.Settlement{Phase: provider.PhasePurchased, Captured: 4000},
		Reply:  provider.Reply{Status: 200, Body: []byte("{}")}, TTL: time.Hour, Now: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := r.hash(t, "m1", "o1")
	if h["phase"] != "PURCHASED" || h["captured"] != "4000" || h["op"] != "" {
		t.Fatalf("after the retry finished: %v", h)
	}
}

// TestAbandonGivesBack: a claimed request that gives up releases its guid
// and what it reserved, but only with its own token.
func TestAbandonGivesBack(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	r.mustWrite(t, "m1", "o1", spec{phase: provider.PhasePurchased, typ: provider.Sale,
		expiresAt: time.Now().Add(time.Hour), authorised: 10000, captured: 10000})
	if b, err := r.store.Begin(ctx, refundAsk("o1", "g1", "tok", 2500, time.Minute)); err != nil || b.Kind != provider.Claimed {
		t.Fatalf("Begin = %+v, %v", b, err)
	}
	claim := provider.Claim{Merchant: "m1", OrderID: "o1", GUID: "g1", Token: "not-mine"}
	if err := r.store.Abandon(ctx, claim); err != nil {
		t.Fatal(err)
	}
	if h := r.hash(t, "m1", "o1"); h["reserved"] != "2500" {
		t.Fatalf("another token released the reservation: %v", h)
	}
	claim.Token = "tok"
	if err := r.store.Abandon(ctx, claim); err != nil {
		t.Fatal(err)
	}
	if h := r.hash(t, "m1", "o1"); h["reserved"] != "0" || h["r:g1"] != "" {
		t.Fatalf("after Abandon: %v", h)
	}
	if r.rdb.Exists(ctx, r.guidKey("m1", "g1")).Val() != 0 {
		t.Fatalf("the guid is still claimed after Abandon")
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
