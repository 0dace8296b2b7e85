package audit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/audit"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

type world struct {
	rdb    *redis.Client
	prefix string
	store  *redisstore.Store
	bank   *sandbox.Processor
	svc    *provider.Service
	m      *provider.Merchant
}

func mustWorld(tb testing.TB) *world {
	tb.Helper()
	rdb := redistest.Shared(tb).Client(tb)
	w := &world{rdb: rdb, prefix: redistest.Prefix(tb), m: &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}}
	w.store = redisstore.New(rdb, w.prefix, 1)
	w.bank = sandbox.New(rdb, sandbox.Options{Prefix: w.prefix + "-bank"})
	cfg := provider.DefaultConfig()
	cfg.Backoff = time.Millisecond
	w.svc = gatewaytest.Service(w.store, w.bank, cfg)
	return w
}

// mustPurchased pays, purchases and refunds 30.00 of an order of 100.00.
func (w *world) mustPurchased(tb testing.TB, order string) *provider.Session {
	tb.Helper()
	ctx := context.Background()
	req := func(guid string) provider.Request {
		return provider.Request{Merchant: w.m, GUID: guid + "-" + order, OrderID: order, Fingerprint: guid}
	}
	if _, err := w.svc.StartSession(ctx, provider.StartInput{Request: req("start"), Type: provider.Sale, Amount: 10000,
		Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"}); err != nil {
		tb.Fatal(err)
	}
	sess, _ := w.store.Order(ctx, w.m.ID, order)
	if _, err := w.svc.Pay(ctx, w.m, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"}); err != nil {
		tb.Fatal(err)
	}
	if _, err := w.svc.Purchase(ctx, provider.OperationInput{Request: req("purchase")}); err != nil {
		tb.Fatal(err)
	}
	if _, err := w.svc.Refund(ctx, provider.OperationInput{Request: req("refund"), Amount: 3000, Currency: "TRY"}); err != nil {
		tb.Fatal(err)
	}
	sess, _ = w.store.Order(ctx, w.m.ID, order)
	return sess
}

// TestTheAuditFindsEveryKindOfDifference: on a store and a bank that
// agree the audit finds nothing; each way of disagreeing is found and
// named.
func TestTheAuditFindsEveryKindOfDifference(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, w *world, sess *provider.Session)
		want   string // in a difference found; "" for none
	}{
		{"agreeing books", func(*testing.T, *world, *provider.Session) {}, ""},
		{"a refund the gateway forgot", func(t *testing.T, w *world, sess *provider.Session) {
			w.rdb.HIncrBy(context.Background(), w.prefix+":{0}:o:m1:o1", "refunded", -3000)
		}, "refunded 0.00 here, 30.00 at the bank"},
		{"a refund only the bank knows", func(t *testing.T, w *world, sess *provider.Session) {
			ref := provider.OperationReference("m1", "o1", provider.ActionRefund, "ghost")
			w.bank.Refund(context.Background(), provider.OperationRequest{Reference: ref, ProcessorID: sess.ProcessorID, Amount: 100, Currency: "TRY"})
		}, "with no step here"},
		{"a payment the gateway calls rejected", func(t *testing.T, w *world, sess *provider.Session) {
			w.rdb.HSet(context.Background(), w.prefix+":{0}:o:m1:o1", "phase", "REJECTED")
		}, "the bank's payment is \"authorised\""},
		{"a hold with nothing to settle it", func(t *testing.T, w *world, sess *provider.Session) {
			w.rdb.HSet(context.Background(), w.prefix+":{0}:o:m1:o1", "op", "lost-guid")
		}, "held by lost-guid with no entry in the doubt set"},
		{"something in doubt past its deadline", func(t *testing.T, w *world, sess *provider.Session) {
			w.rdb.ZAdd(context.Background(), w.prefix+":{0}:doubt", redis.Z{Score: float64(time.Now().Add(-time.Minute).UnixMilli()), Member: "op\nm1\no1\nstuck"})
		}, "still in doubt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWorld(t)
			sess := w.mustPurchased(t, "o1")
			tt.tamper(t, w, sess)
			rep, err := audit.Run(context.Background(), w.store, w.bank, time.Now(), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Orders != 1 || rep.Operations != 2 {
				t.Fatalf("audited %d orders, %d operations; want 1 and 2", rep.Orders, rep.Operations)
			}
			found := false
			for _, d := range rep.Differences {
				found = found || strings.Contains(d.What, tt.want)
			}
			switch {
			case tt.want == "" && len(rep.Differences) != 0:
				t.Fatalf("differences in agreeing books: %v", rep.Differences)
			case tt.want != "" && !found:
				t.Fatalf("differences %v, want one saying %q", rep.Differences, tt.want)
			}
		})
	}
}
