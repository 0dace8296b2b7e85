package redisstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// plainEncoder queues every event with a readable body.
type plainEncoder struct{}

// sessionIDOf renders start-session by noting the new session's id.
func sessionIDOf(sid *string) provider.Renderers {
	plain := func(provider.Answer) provider.Reply { return provider.Reply{Status: 200, Body: []byte("{}")} }
	return provider.Renderers{Operation: plain, Start: func(a provider.Answer) provider.Reply {
		*sid = a.Session.ID
		return plain(a)
	}}
}

// startSale starts a sale of 100.00 TRY on order with guid and returns
// the session it opened.
func startSale(tb testing.TB, svc *provider.Service, m *provider.Merchant, order, guid string) *provider.Session {
	tb.Helper()
	var sid string
	svc.SetRenderers(sessionIDOf(&sid))
	ctx := context.Background()
	req := provider.Request{Merchant: m, GUID: guid, OrderID: order, Fingerprint: "fp-" + guid}
	if _, err := svc.StartSession(ctx, provider.StartInput{Request: req, Type: provider.Sale, Amount: 10000, Currency: "TRY",
		Locale: "en", ReturnURL: "https://shop.example/return"}); err != nil {
		tb.Fatal(err)
	}
	sess, err := svc.Session(ctx, sid)
	if err != nil {
		tb.Fatal(err)
	}
	return sess
}

// payWith pays sess with one of the sandbox's test cards.
func payWith(tb testing.TB, svc *provider.Service, m *provider.Merchant, sess *provider.Session, number string) {
	tb.Helper()
	if _, err := svc.Pay(context.Background(), m, sess, provider.CardForm{CardHolder: "A B", CardNumber: number, Expiry: "12/39", CVC: "123"}); err != nil {
		tb.Fatal(err)
	}
}

func (plainEncoder) Encode(e provider.Event) (provider.Outgoing, bool, error) {
	b, err := json.Marshal(map[string]string{"eventId": e.ID, "orderId": e.OrderID, "status": string(e.State.Status),
		"subStatus": string(e.State.SubStatus), "cause": e.Cause})
	return provider.Outgoing{ID: e.ID, Body: b}, err == nil, err
}

// fillOnStatus is the bank, except that when the gateway asks it about a
// pending payment, Redis runs out of memory before the answer can be
// stored: the failure lands exactly between the processor's answer and
// the state change with its event.
type fillOnStatus struct {
	*sandbox.Processor
	rdb  *redis.Client
	fill bool
}

func (p *fillOnStatus) Status(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	if p.fill {
		if err := p.rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
			return provider.Result{}, err
		}
	}
	return p.Processor.Status(ctx, req)
}

// TestStateChangeAndEventAreOneStep shows that a pending payment's
// resolution and its webhook are written together or not at all.
//
// By construction: both are written by one Lua script (transition.lua),
// and Redis runs a script atomically. The only way a script stops between
// two of its writes is a runtime error; the writes here cannot meet a
// wrong-type error, and Redis checks memory (the one limit a full server
// imposes) at the script's first write and, once a script has written,
// lets it finish. So a full Redis refuses the whole step.
//
// By test: Redis is filled to its maxmemory (noeviction) after the bank
// answered and before the gateway stores the answer. The step is refused:
// the session is still PENDING and the outbox holds nothing. Once memory
// is back, the claim's lease runs out, the next pass resolves the payment
// and queues exactly one event.
func TestStateChangeAndEventAreOneStep(t *testing.T) {
	redistest.RequireServer(t, "CONFIG SET maxmemory fills it (miniredis has no CONFIG and no memory limit)")
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	st := redisstore.New(rdb, "gw", 1)
	// The bank keeps its books elsewhere: only the gateway's Redis fills.
	books := sandbox.New(redistest.Shared(t).Client(t), sandbox.Options{Prefix: redistest.Prefix(t)})
	bank := &fillOnStatus{Processor: books, rdb: rdb}
	cfg := provider.DefaultConfig()
	cfg.Lease, cfg.FinishRetry, cfg.Backoff = 300*time.Millisecond, 50*time.Millisecond, time.Millisecond
	svc := gatewaytest.Service(st, bank, cfg)
	svc.SetEvents(plainEncoder{})
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}

	var sid string
	svc.SetRenderers(sessionIDOf(&sid))
	_, err := svc.StartSession(ctx, provider.StartInput{Request: provider.Request{Merchant: m, GUID: "g1", OrderID: "o1", Fingerprint: "f"},
		Type: provider.Sale, Amount: 5000, Currency: "TRY", Locale: "tr", ReturnURL: "https://shop.example/r"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.Pay(ctx, m, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardPendingOK, Expiry: "12/39", CVC: "123"})
	if err != nil || v.Session.Phase != provider.PhasePending {
		t.Fatalf("pay: %v %+v", err, v.Session)
	}
	outbox := func() int64 { return rdb.ZCard(ctx, "gw:{0}:wh:due").Val() }
	if n := outbox(); n != 0 {
		t.Fatalf("a pending payment queued %d events", n)
	}

	bank.fill = true
	_, err = svc.RunJobsOnce(ctx)
	if provider.ErrorCode(err) != provider.CodeStoreUnavailable {
		t.Fatalf("a full Redis must refuse the step as unavailable; got %v", err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	after, err := st.Order(ctx, "m1", "o1")
	if err != nil || after.Phase != provider.PhasePending || outbox() != 0 {
		t.Fatalf("after the refused step: phase %s, outbox %d (err %v); want PENDING and nothing queued", after.Phase, outbox(), err)
	}

	bank.fill = false
	redistest.Eventually(t, 5*time.Second, "the payment resolved once the lease ran out", func() bool {
		rep, err := svc.RunJobsOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Resolved == 1
	})
	after, err = st.Order(ctx, "m1", "o1")
	if err != nil || after.Phase != provider.PhaseAuthorised || outbox() != 1 {
		t.Fatalf("after resolution: phase %s, outbox %d (err %v); want AUTHORISED with one event", after.Phase, outbox(), err)
	}
	ids := rdb.ZRange(ctx, "gw:{0}:wh:due", 0, -1).Val()
	body := rdb.HGet(ctx, "gw:{0}:wh:e:"+ids[0], "body").Val()
	var ev map[string]string
	if err := json.Unmarshal([]byte(body), &ev); err != nil || ev["status"] != "RESOLVED" || ev["cause"] != provider.CausePendingResolved {
		t.Fatalf("queued event = %s (%v)", body, err)
	}
}
