package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestAHistoryReadClaimsNothing: a history read whose guid is free claims
// nothing; its Finish stores the reply only while the guid is still free.
// A guid taken between the read and the Finish answers as a claim would
// have: the reply stored for the same request, in flight for the same
// request still running, reused for another request. A full Redis stores
// nothing.
func TestAHistoryReadClaimsNothing(t *testing.T) {
	ctx := context.Background()
	read := func(t *testing.T, r *raw, guid, fp string) provider.BeginInput {
		t.Helper()
		in := provider.BeginInput{
			Claim: provider.Claim{Merchant: "m1", OrderID: "o1", GUID: guid, Token: "tok-" + guid, Fingerprint: fp},
			Lease: time.Minute, Deadline: caseNow.Add(time.Minute),
			Ask: provider.Ask{Action: provider.ActionHistory, GUID: guid, Now: caseNow},
		}
		b, err := r.store.Begin(ctx, in)
		if err != nil || b.Kind != provider.Claimed || !b.Unclaimed || b.Session == nil || len(b.Steps) != 1 {
			t.Fatalf("history read: %+v, %v; want the session and its step, unclaimed", b, err)
		}
		if n := r.rdb.Exists(ctx, r.guidKey("m1", guid)).Val(); n != 0 {
			t.Fatalf("the read wrote the guid's record")
		}
		return in
	}
	finish := func(r *raw, in provider.BeginInput, body string) (provider.Reply, error) {
		return r.store.Finish(ctx, provider.FinishInput{Claim: provider.Claim{Merchant: in.Merchant, OrderID: in.OrderID,
			GUID: in.GUID, Fingerprint: in.Fingerprint}, Reply: provider.Reply{Status: 200, Body: []byte(body),
			Expires: caseNow.Add(time.Hour)}, TTL: time.Hour, Now: caseNow})
	}
	// take claims guid for another request, as a purchase would on
	// another replica (refused on a purchased order, it holds the guid for
	// its lease).
	take := func(t *testing.T, r *raw, guid, fp string) {
		t.Helper()
		b, err := r.store.Begin(ctx, provider.BeginInput{
			Claim: provider.Claim{Merchant: "m1", OrderID: "o1", GUID: guid, Token: "elsewhere", Fingerprint: fp},
			Lease: time.Minute, Ask: provider.Ask{Action: provider.ActionPurchase, GUID: guid, Now: caseNow}})
		if err != nil || b.Kind != provider.Refused {
			t.Fatalf("taking %s: %+v, %v", guid, b, err)
		}
	}

	t.Run("two reads of one request", func(t *testing.T) {
		r := mustRaw(t)
		r.put(t, "m1", "o1", in(provider.PhasePurchased))
		first, second := read(t, r, "g1", "fp"), read(t, r, "g1", "fp")
		if got, err := finish(r, first, `{"n":1}`); err != nil || string(got.Body) != `{"n":1}` {
			t.Fatalf("first finish: %s, %v", got.Body, err)
		}
		if got, err := finish(r, second, `{"n":2}`); err != nil || string(got.Body) != `{"n":1}` {
			t.Fatalf("second finish: %s, %v; want the first one's reply", got.Body, err)
		}
		b, err := r.store.Begin(ctx, first)
		if err != nil || b.Kind != provider.Replayed || string(b.Reply.Body) != `{"n":1}` {
			t.Fatalf("the guid again: %+v, %v; want the first reply", b, err)
		}
	})
	t.Run("taken by the same request, still running", func(t *testing.T) {
		r := mustRaw(t)
		r.put(t, "m1", "o1", in(provider.PhasePurchased))
		in := read(t, r, "g2", "fp")
		take(t, r, "g2", "fp")
		if _, err := finish(r, in, `{}`); provider.ErrorCode(err) != provider.CodeRequestInProgress {
			t.Fatalf("finish: %v; want request_in_progress", err)
		}
	})
	t.Run("taken by another request", func(t *testing.T) {
		r := mustRaw(t)
		r.put(t, "m1", "o1", in(provider.PhasePurchased))
		in := read(t, r, "g3", "fp")
		take(t, r, "g3", "another")
		if _, err := finish(r, in, `{}`); provider.ErrorCode(err) != provider.CodeIdempotencyReused {
			t.Fatalf("finish: %v; want idempotency_key_reused", err)
		}
		if tok := r.rdb.HGet(ctx, r.guidKey("m1", "g3"), "t").Val(); tok != "elsewhere" {
			t.Fatalf("the other request's claim was overwritten: token %q", tok)
		}
	})
	t.Run("a full Redis", func(t *testing.T) {
		redistest.RequireServer(t, "CONFIG SET maxmemory fills it")
		srv := redistest.Start(t)
		rdb := srv.Client(t)
		r := &raw{rdb: rdb, prefix: "gw", store: redisstore.New(rdb, "gw", 1)}
		r.put(t, "m1", "o1", in(provider.PhasePurchased))
		in := read(t, r, "g4", "fp")
		if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
			t.Fatal(err)
		}
		_, err := finish(r, in, `{}`)
		if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
			t.Fatal(err)
		}
		if err == nil || rdb.Exists(ctx, r.guidKey("m1", "g4")).Val() != 0 {
			t.Fatalf("finish on a full Redis: %v; want refused, nothing stored", err)
		}
	})
}
