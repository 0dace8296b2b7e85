package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestShardsSpreadOrders runs payments on a store of several hash-tag
// shards, as a Cluster deployment would: every order's keys share one
// tag, the orders spread over the tags, and what spans shards (a session
// id's lookup, the schedules, the outbox) finds everything.
func TestShardsSpreadOrders(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	prefix := redistest.Prefix(t)
	st := redisstore.New(rdb, prefix, 4)
	cfg := provider.DefaultConfig()
	cfg.Backoff = time.Millisecond
	bank := sandbox.New(rdb, sandbox.Options{Prefix: prefix + "-bank"})
	svc := gatewaytest.Service(st, bank, cfg)
	svc.SetEvents(plainEncoder{})
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	ctx := context.Background()

	const orders = 12
	for i := range orders {
		order := "order-" + strconv.Itoa(i)
		var sid string
		svc.SetRenderers(sessionIDOf(&sid))
		_, err := svc.StartSession(ctx, provider.StartInput{Request: provider.Request{Merchant: m, GUID: "g-" + order, OrderID: order, Fingerprint: order},
			Type: provider.Sale, Amount: 1000, Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := svc.Session(ctx, sid)
		if err != nil || sess.OrderID != order {
			t.Fatalf("session %s of %s: %v %+v", sid, order, err, sess)
		}
		card := sandbox.CardApproved
		if i%2 == 1 {
			card = sandbox.CardPendingOK // resolved by the jobs, across shards
		}
		if _, err := svc.Pay(ctx, m, sess, provider.CardForm{CardHolder: "A B", CardNumber: card, Expiry: "12/39", CVC: "123"}); err != nil {
			t.Fatal(err)
		}
	}

	tags := map[string]bool{}
	for _, k := range rdb.Keys(ctx, prefix+":*:o:*").Val() {
		tags[k[:strings.Index(k, "}")+1]] = true
	}
	if len(tags) < 2 {
		t.Fatalf("12 orders used %d shard(s): %v", len(tags), tags)
	}

	rep, err := svc.RunJobsOnce(ctx)
	if err != nil || rep.Resolved != orders/2 {
		t.Fatalf("jobs over the shards: %+v %v; want %d resolved", rep, err, orders/2)
	}
	evs, err := st.ClaimEvents(ctx, time.Now(), time.Minute, 100)
	if err != nil || len(evs) != orders {
		t.Fatalf("claimed %d events across shards (%v), want %d", len(evs), err, orders)
	}
	for _, ev := range evs {
		if _, _, err := st.Event(ctx, ev.ID); err != nil {
			t.Fatalf("event %s not found by id: %v", ev.ID, err)
		}
	}
}

// TestAGuidReusedOnAnotherShardIsFound: with several shards, two orders
// of one merchant usually live in different shards, where a guid record
// of one is not seen from the other. The guid registry, claimed first,
// finds a guid reused on another order wherever it lives; the same
// request sent again still replays.
func TestAGuidReusedOnAnotherShardIsFound(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	prefix := redistest.Prefix(t)
	st := redisstore.New(rdb, prefix, 16)
	svc := gatewaytest.Service(st, sandbox.New(rdb, sandbox.Options{Prefix: prefix + "-bank"}), provider.DefaultConfig())
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	ctx := context.Background()
	start := func(order, guid string) error {
		_, err := svc.StartSession(ctx, provider.StartInput{Request: provider.Request{Merchant: m, GUID: guid, OrderID: order, Fingerprint: "start " + order},
			Type: provider.Sale, Amount: 1000, Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"})
		return err
	}
	if err := start("order-a", "g-shared"); err != nil {
		t.Fatal(err)
	}
	tags := map[string]bool{}
	for _, order := range []string{"order-a", "order-b"} {
		for _, k := range rdb.Keys(ctx, prefix+":*:o:m1:"+order).Val() {
			tags[k[:strings.Index(k, "}")+1]] = true
		}
		if order == "order-a" {
			err := start("order-b", "g-shared")
			if provider.ErrorCode(err) != provider.CodeIdempotencyReused {
				t.Fatalf("the guid of order-a reused for order-b: %v, want idempotency_key_reused", err)
			}
			if err := start("order-b", "g-own"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(tags) != 2 {
		t.Fatalf("the two orders share a shard (%v): pick other names so the test proves something", tags)
	}
	if err := start("order-a", "g-shared"); err != nil {
		t.Fatalf("the same request sent again: %v", err)
	}
}
