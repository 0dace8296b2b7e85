package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

type fixture struct {
	svc   *provider.Service
	store *redisstore.Store
	bank  *sandbox.Processor
	m     *provider.Merchant
}

// mustFixture is a service on the shared redis-server and the sandbox
// bank; tweaks change its configuration.
func mustFixture(tb testing.TB, tweaks ...func(*provider.Config)) *fixture {
	tb.Helper()
	srv := redistest.Shared(tb)
	st := redisstore.New(srv.Client(tb), redistest.Prefix(tb), 1)
	bank := sandbox.New(srv.Client(tb), sandbox.Options{Prefix: redistest.Prefix(tb), PendingDelay: time.Second})
	cfg := provider.DefaultConfig()
	cfg.Backoff = time.Millisecond
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	svc := gatewaytest.Service(st, bank, cfg)
	svc.SetRenderers(provider.Renderers{Start: echo, Operation: echo})
	return &fixture{svc: svc, store: st, bank: bank, m: &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}}
}

// echo renders an answer as JSON so tests can read it back.
func echo(a provider.Answer) provider.Reply {
	body := map[string]any{"txn": a.TransactionID, "status": a.State.Status, "sub": a.State.SubStatus}
	status := 200
	if a.Err != nil {
		body["code"], body["field"], body["message"] = a.Err.Code, a.Err.Field, a.Err.Message
		status = 422
	}
	if a.Session != nil {
		body["session"] = a.Session.ID
		body["balance"] = a.Session.Balance().String()
	}
	if a.Steps != nil {
		body["steps"] = a.Steps
	}
	b, _ := json.Marshal(body)
	return provider.Reply{Status: status, Body: b}
}

func decode(tb testing.TB, r provider.Reply) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("body %q: %v", r.Body, err)
	}
	return m
}

func TestWholePaymentThroughTheStore(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	req := func(guid string) provider.Request {
		return provider.Request{Merchant: f.m, GUID: guid, OrderID: "order-1", Fingerprint: "fp-" + guid}
	}
	r, err := f.svc.StartSession(ctx, provider.StartInput{Request: req("g1"), Type: provider.Sale,
		Amount: 10000, Currency: "TRY", Locale: "tr", ReturnURL: "https://shop.example/return"})
	if err != nil {
		t.Fatal(err)
	}
	sid := decode(t, r)["session"].(string)
	sess, err := f.svc.Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Pay(ctx, f.m, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/30", CVC: "123"})
	if err != nil {
		t.Fatal(err)
	}
	if v.State != provider.PageDone || v.Session.Phase != provider.PhaseAuthorised {
		t.Fatalf("after pay: %+v", v)
	}
	r, err = f.svc.Purchase(ctx, provider.OperationInput{Request: req("g2")})
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, r); got["status"] != "RESOLVED" {
		t.Fatalf("purchase: %s", r.Body)
	}
	if after, err := f.svc.Session(ctx, sid); err != nil || after.Balance().String() != "100.00" {
		t.Fatalf("after the purchase the store holds %+v (%v), want a balance of 100.00", after, err)
	}
	for i, want := range []string{"RESOLVED", "RESOLVED", "refused"} {
		r, err = f.svc.Refund(ctx, provider.OperationInput{Request: req(fmt.Sprint("r", i)), Amount: 4000, Currency: "TRY"})
		if err != nil {
			t.Fatal(err)
		}
		got := decode(t, r)
		if want == "refused" {
			if got["code"] != string(provider.CodeAmountExceedsBalance) {
				t.Fatalf("refund %d: %s", i, r.Body)
			}
			continue
		}
		if got["status"] != want {
			t.Fatalf("refund %d: %s", i, r.Body)
		}
	}
	r, err = f.svc.History(ctx, req("h1"), echo)
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, r)
	if got["balance"] != "20.00" || len(got["steps"].([]any)) != 4 {
		t.Fatalf("history: %s", r.Body)
	}
	again, err := f.svc.History(ctx, req("h1"), echo)
	if err != nil || !again.Replayed || string(again.Body) != string(r.Body) {
		t.Fatalf("replay: %v %+v", err, again)
	}
}
