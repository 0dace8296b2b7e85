package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestOrderOfGUID: every guid used on an order names it — start-session,
// purchase, refund, a stored refusal, history, and an operation still
// running — on one shard and on several (where the guid's shard is not
// known in advance); an unknown guid, or another merchant's, is not found.
func TestOrderOfGUID(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprint(shards, " shards"), func(t *testing.T) {
			srv := redistest.Shared(t)
			st := redisstore.New(srv.Client(t), redistest.Prefix(t), shards)
			bank := sandbox.New(srv.Client(t), sandbox.Options{Prefix: redistest.Prefix(t)})
			svc := gatewaytest.Service(st, bank, provider.DefaultConfig())
			svc.SetRenderers(provider.Renderers{Start: echo, Operation: echo})
			m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
			ctx := context.Background()

			used := map[string]string{} // guid → order
			for i := range 3 {
				order := fmt.Sprint("order-", i)
				req := func(guid string) provider.Request {
					used[guid] = order
					return provider.Request{Merchant: m, GUID: guid, OrderID: order, Fingerprint: "fp-" + guid}
				}
				if _, err := svc.StartSession(ctx, provider.StartInput{Request: req("start-" + order), Type: provider.Sale,
					Amount: 10000, Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/return"}); err != nil {
					t.Fatal(err)
				}
				sess, err := st.Order(ctx, m.ID, order)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Pay(ctx, m, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"}); err != nil {
					t.Fatal(err)
				}
				for _, call := range []struct {
					guid string
					do   func(provider.Request) (provider.Reply, error)
				}{
					{"purchase-" + order, func(r provider.Request) (provider.Reply, error) {
						return svc.Purchase(ctx, provider.OperationInput{Request: r})
					}},
					{"refund-" + order, func(r provider.Request) (provider.Reply, error) {
						return svc.Refund(ctx, provider.OperationInput{Request: r, Amount: 2500, Currency: "TRY"})
					}},
					{"refused-" + order, func(r provider.Request) (provider.Reply, error) { // more than the balance: 422, stored
						return svc.Refund(ctx, provider.OperationInput{Request: r, Amount: 999999, Currency: "TRY"})
					}},
					{"history-" + order, func(r provider.Request) (provider.Reply, error) { return svc.History(ctx, r, echo) }},
				} {
					if _, err := call.do(req(call.guid)); err != nil {
						t.Fatalf("%s: %v", call.guid, err)
					}
				}
			}
			// A refund whose request has claimed its guid and not finished.
			running := provider.BeginInput{
				Claim: provider.Claim{Merchant: m.ID, OrderID: "order-1", GUID: "running", Token: "tok", Fingerprint: "fp-running"},
				Lease: time.Minute, Deadline: time.Now().Add(time.Minute), TTL: time.Hour,
				Ask: provider.Ask{Action: provider.ActionRefund, GUID: "running", Amount: 100, Currency: "TRY", Now: time.Now()},
			}
			if b, err := st.Begin(ctx, running); err != nil || b.Kind != provider.Claimed {
				t.Fatalf("begin a refund: %+v %v", b, err)
			}
			used["running"] = "order-1"

			for guid, want := range used {
				if got, err := st.OrderOfGUID(ctx, m.ID, guid); err != nil || got != want {
					t.Errorf("OrderOfGUID(%s) = %q, %v; want %s", guid, got, err, want)
				}
			}
			for _, guid := range []string{"never-used", ""} {
				if got, err := st.OrderOfGUID(ctx, m.ID, guid); !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("OrderOfGUID(%q) = %q, %v; want ErrNotFound", guid, got, err)
				}
			}
			if got, err := st.OrderOfGUID(ctx, "another-merchant", "purchase-order-0"); !errors.Is(err, provider.ErrNotFound) {
				t.Errorf("another merchant's guid: %q, %v; want ErrNotFound", got, err)
			}
		})
	}
}

// TestOrderEvents: the order's index lists each event the scripts queue
// for it (a payment's outcome, a pending payment resolved, the refused
// form that rejects a session), oldest first, with its attempts and when
// it was parked; the index expires with the order's retention, and an
// event gone from the outbox is left out.
func TestOrderEvents(t *testing.T) {
	srv := redistest.Shared(t)
	rdb := srv.Client(t)
	prefix := redistest.Prefix(t)
	st := redisstore.New(rdb, prefix, 1)
	st.SetRetention(48 * time.Hour)
	bank := sandbox.New(rdb, sandbox.Options{Prefix: prefix, PendingDelay: time.Millisecond})
	cfg := provider.DefaultConfig()
	cfg.Backoff = time.Millisecond
	svc := gatewaytest.Service(st, bank, cfg)
	svc.SetEvents(plainEncoder{})
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	ctx := context.Background()
	start := func(order, guid string) *provider.Session { t.Helper(); return startSale(t, svc, m, order, guid) }
	pay := func(sess *provider.Session, number string) { t.Helper(); payWith(t, svc, m, sess, number) }

	// order-a: declined (one event), then a new session paid with a
	// pending card that resolves (a second event when it resolves).
	pay(start("order-a", "a1"), sandbox.CardDeclined)
	pay(start("order-a", "a2"), sandbox.CardPendingOK)
	redistest.Eventually(t, 5*time.Second, "the pending payment resolved", func() bool {
		if _, err := svc.RunJobsOnce(ctx); err != nil {
			t.Fatal(err)
		}
		sess, err := st.Order(ctx, m.ID, "order-a")
		return err == nil && sess.Phase == provider.PhaseAuthorised
	})
	// order-b: three refused forms reject the session (one event).
	b := start("order-b", "b1")
	for range 3 {
		if _, err := svc.Pay(ctx, m, b, provider.CardForm{CardHolder: "A B", CardNumber: "4111", Expiry: "12/39", CVC: "123"}); err != nil {
			t.Fatal(err)
		}
		if b, _ = st.Order(ctx, m.ID, "order-b"); b == nil {
			t.Fatal("order-b is gone")
		}
	}

	a, err := st.OrderEvents(ctx, m.ID, "order-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || a[0].Event.OrderID != "order-a" || a[0].Event.State != "pending" ||
		string(a[0].Event.Body) == "" || len(a[0].Attempts) != 0 {
		t.Fatalf("order-a's events: %+v", a)
	}
	if got := []string{cause(t, a[0]), cause(t, a[1])}; got[0] != provider.CausePayment || got[1] != provider.CausePendingResolved {
		t.Fatalf("order-a's events are %v, want the declined payment, then the pending one resolved", got)
	}
	bs, err := st.OrderEvents(ctx, m.ID, "order-b")
	if err != nil || len(bs) != 1 || cause(t, bs[0]) != provider.CausePayment {
		t.Fatalf("order-b's events: %+v %v", bs, err)
	}
	if none, err := st.OrderEvents(ctx, m.ID, "order-none"); err != nil || len(none) != 0 {
		t.Fatalf("an order without events: %+v %v", none, err)
	}
	idx := prefix + ":{0}:wh:o:m1:order-a"
	if ttl := rdb.PTTL(ctx, idx).Val(); ttl <= 47*time.Hour || ttl > 48*time.Hour {
		t.Fatalf("the index's TTL is %s, want the order's retention (48h)", ttl)
	}

	// Attempts: the first event is tried and parked, the second delivered.
	now := time.Now()
	evs, err := st.ClaimEvents(ctx, now, time.Minute, 10)
	if err != nil || len(evs) != 3 {
		t.Fatalf("claim: %d events, %v", len(evs), err)
	}
	for _, ev := range evs {
		outcome := provider.OutcomeDelivered
		if ev.ID == a[0].Event.ID {
			outcome = provider.OutcomeDead
		}
		a := provider.Attempt{N: 1, At: provider.FormatTime(now), Status: 503, LatencyMS: 12, Outcome: outcome, Replica: "r1"}
		if ok, err := st.RecordAttempt(ctx, ev, a, time.Time{}, now, time.Hour); !ok || err != nil {
			t.Fatalf("record attempt: %v %v", ok, err)
		}
	}
	a, err = st.OrderEvents(ctx, m.ID, "order-a")
	if err != nil || len(a) != 2 {
		t.Fatalf("order-a's events: %+v %v", a, err)
	}
	if a[0].Event.State != "dead" || a[0].Event.ParkedAt.IsZero() || len(a[0].Attempts) != 1 || a[0].Attempts[0].Replica != "r1" {
		t.Fatalf("the parked event: %+v", a[0])
	}
	if a[1].Event.State != "delivered" || !a[1].Event.ParkedAt.IsZero() || len(a[1].Attempts) != 1 {
		t.Fatalf("the delivered event: %+v", a[1])
	}
	// An event the outbox no longer holds is left out.
	rdb.Del(ctx, prefix+":{0}:wh:e:"+a[1].Event.ID)
	if a, err = st.OrderEvents(ctx, m.ID, "order-a"); err != nil || len(a) != 1 {
		t.Fatalf("after the delivered event expired: %+v %v", a, err)
	}
}

func cause(tb testing.TB, l provider.EventLog) string {
	tb.Helper()
	var b struct{ Cause string }
	if err := json.Unmarshal(l.Event.Body, &b); err != nil {
		tb.Fatalf("event body %q: %v", l.Event.Body, err)
	}
	return b.Cause
}
