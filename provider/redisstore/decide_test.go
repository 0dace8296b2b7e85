package redisstore_test

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// raw is a store plus direct access to its keys, for tests that build a
// session in any phase by writing its hash the way codec.go lays it out.
type raw struct {
	rdb    *redis.Client
	prefix string
	store  *redisstore.Store
}

func mustRaw(tb testing.TB) *raw {
	tb.Helper()
	rdb := redistest.Shared(tb).Client(tb)
	prefix := redistest.Prefix(tb)
	return &raw{rdb: rdb, prefix: prefix, store: redisstore.New(rdb, prefix, 1)}
}

// With one shard every key carries the tag {0}.
func (r *raw) sessionKey(merchant, order string) string {
	return r.prefix + ":{0}:o:" + merchant + ":" + order
}
func (r *raw) historyKey(merchant, order string) string {
	return r.prefix + ":{0}:h:" + merchant + ":" + order
}
func (r *raw) guidKey(merchant, guid string) string {
	return r.prefix + ":{0}:i:" + merchant + ":" + guid
}
func (r *raw) indexKey(id string) string { return r.prefix + ":{0}:x:" + id }

// spec is a session as a test writes it.
type spec struct {
	phase        provider.Phase
	typ          provider.PaymentType
	expiresAt    time.Time
	authorised   int64
	captured     int64
	refunded     int64
	op           string
	reservations map[string]int64
	payToken     string
	tries        int
}

func (r *raw) mustWrite(tb testing.TB, merchant, order string, s spec) string {
	tb.Helper()
	ctx := context.Background()
	id := "sess-" + order
	reserved := int64(0)
	fields := []any{
		"id", id, "txn", "txn-" + order, "merchant", merchant, "order", order, "startGuid", "start-" + order,
		"type", string(s.typ), "currency", "TRY", "locale", "tr", "returnUrl", "https://shop.example/return",
		"processor", "sandbox", "amount", 10000, "createdAt", s.expiresAt.Add(-30 * time.Minute).UnixMilli(),
		"expiresAt", s.expiresAt.UnixMilli(), "phase", string(s.phase), "tries", s.tries,
		"authorised", s.authorised, "captured", s.captured, "refunded", s.refunded, "startIdx", 0,
	}
	if s.op != "" {
		fields = append(fields, "op", s.op)
	}
	if s.payToken != "" {
		fields = append(fields, "payToken", s.payToken, "payStage", "card", "payUntil", s.expiresAt.UnixMilli())
	}
	for guid, m := range s.reservations {
		fields = append(fields, "r:"+guid, m)
		reserved += m
	}
	fields = append(fields, "reserved", reserved)
	step := provider.MarshalStep(provider.Step{GUID: "start-" + order, Type: provider.ActionStart, SessionID: id})
	pipe := r.rdb.TxPipeline()
	pipe.HSet(ctx, r.sessionKey(merchant, order), fields...)
	pipe.RPush(ctx, r.historyKey(merchant, order), step)
	pipe.Set(ctx, r.indexKey(id), merchant+"\n"+order, 0)
	if _, err := pipe.Exec(ctx); err != nil {
		tb.Fatalf("write session: %v", err)
	}
	return id
}

func (r *raw) hash(tb testing.TB, merchant, order string) map[string]string {
	tb.Helper()
	h, err := r.rdb.HGetAll(context.Background(), r.sessionKey(merchant, order)).Result()
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// TestBeginMirrorsDecide drives the store's Begin script through every
// (phase, action) pair, with locks, reservations and amounts on both
// sides of each guard, and checks its verdict is provider.Decide's on the
// very session the store holds, and that it reserved exactly what the
// verdict calls for.
func TestBeginMirrorsDecide(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	const merchant = "m1"

	type phaseCase struct {
		name string
		spec *spec // nil: the order has no session
	}
	var phases []phaseCase
	for _, p := range provider.Phases {
		if p == provider.PhaseNone {
			phases = append(phases, phaseCase{"NONE", nil})
			continue
		}
		s := spec{phase: p, typ: provider.Sale, expiresAt: now.Add(time.Hour)}
		switch p {
		case provider.PhaseAuthorised, provider.PhaseVoided:
			s.authorised = 10000
		case provider.PhasePurchased:
			s.authorised, s.captured = 10000, 10000
		}
		phases = append(phases, phaseCase{string(p), &s})
	}
	phases = append(phases, phaseCase{"WAITING past its expiry", &spec{phase: provider.PhaseWaiting, typ: provider.Sale, expiresAt: now.Add(-time.Millisecond)}})
	phases = append(phases, phaseCase{"WAITING expiring now", &spec{phase: provider.PhaseWaiting, typ: provider.Sale, expiresAt: now}})
	phases = append(phases, phaseCase{"THREEDS past its expiry", &spec{phase: provider.PhaseThreeDS, typ: provider.Sale, expiresAt: now.Add(-time.Millisecond)}})
	phases = append(phases, phaseCase{"PENDING past its expiry", &spec{phase: provider.PhasePending, typ: provider.Sale, expiresAt: now.Add(-time.Millisecond)}})
	phases = append(phases, phaseCase{"PAYING past its expiry", &spec{phase: provider.PhasePaying, typ: provider.Sale, expiresAt: now.Add(-time.Millisecond)}})
	phases = append(phases, phaseCase{"AUTHORISED past its expiry", &spec{phase: provider.PhaseAuthorised, typ: provider.Sale, expiresAt: now.Add(-time.Millisecond), authorised: 10000}})

	variants := []struct {
		name string
		edit func(s *spec, asker string)
	}{
		{"plain", func(*spec, string) {}},
		{"AUTH", func(s *spec, _ string) { s.typ = provider.Auth }},
		{"locked by another", func(s *spec, _ string) { s.op = "g-other" }},
		{"locked by the asker", func(s *spec, asker string) { s.op = asker }},
		{"another holds a reservation", func(s *spec, _ string) { s.reservations = map[string]int64{"g-other": 2000} }},
		{"partly refunded", func(s *spec, _ string) { s.refunded = 3000 }},
		{"fully refunded", func(s *spec, _ string) { s.refunded = s.captured }},
	}
	asks := []struct {
		amount   provider.Money
		currency string
	}{
		{0, ""}, {1000, "TRY"}, {8000, "TRY"}, {10000, "TRY"}, {10001, "TRY"}, {1000, "EUR"},
	}
	actions := []provider.Action{provider.ActionStart, provider.ActionPurchase, provider.ActionVoid,
		provider.ActionRefund, provider.ActionHistory}

	n, seen := 0, map[provider.Code]int{}
	for _, pc := range phases {
		for _, v := range variants {
			if pc.spec == nil && v.name != "plain" {
				continue
			}
			for _, a := range actions {
				for _, ak := range asks {
					n++
					order := fmt.Sprintf("o%d", n)
					guid := "g-" + order // guid records are per merchant: one per case
					var before map[string]string
					var sess *provider.Session
					if pc.spec != nil {
						s := *pc.spec
						v.edit(&s, guid)
						id := r.mustWrite(t, merchant, order, s)
						var err error
						if sess, err = r.store.Session(ctx, id); err != nil {
							t.Fatalf("read back %s: %v", id, err)
						}
						before = r.hash(t, merchant, order)
					}
					ask := provider.Ask{Action: a, GUID: guid, Amount: ak.amount, Currency: ak.currency, Now: now}
					want := provider.Decide(sess, ask)
					seen[want]++

					in := provider.BeginInput{
						Claim: provider.Claim{Merchant: merchant, OrderID: order, GUID: guid, Token: "tok", Fingerprint: "fp"},
						Lease: time.Minute, Deadline: now.Add(time.Minute), Ask: ask,
					}
					if a == provider.ActionStart {
						in.New = &provider.Session{ID: "new-" + order, TransactionID: "t", Merchant: merchant, OrderID: order,
							StartGUID: guid, Type: provider.Sale, Currency: "TRY", Amount: 5000, CreatedAt: now,
							ExpiresAt: now.Add(time.Hour), Phase: provider.PhaseWaiting}
						in.StartStep = provider.MarshalStep(in.New.StartStep())
						in.Reply, in.TTL = provider.Reply{Status: 200, Body: []byte(`{"started":true}`), Expires: now.Add(time.Hour)}, time.Hour
					}
					b, err := r.store.Begin(ctx, in)
					if err != nil {
						t.Fatalf("Begin: %v", err)
					}
					where := fmt.Sprintf("%s on %s (%s), amount %s %s", a, pc.name, v.name, ak.amount, ak.currency)
					var got provider.Code
					switch b.Kind {
					case provider.Claimed:
					case provider.Refused:
						got = b.Refusal
					case provider.Busy:
						got = provider.CodeOperationInProgress
					default:
						t.Fatalf("%s: Begin kind %d", where, b.Kind)
					}
					if got != want {
						t.Errorf("%s: the script says %q, Decide says %q", where, got, want)
						continue
					}
					checkEffects(t, r, where, merchant, order, guid, ask, b, before)
				}
			}
		}
	}
	// The matrix must reach every verdict the machine has, or it proves little.
	for _, c := range []provider.Code{"", provider.CodeOrderNotFound, provider.CodePaymentInProgress, provider.CodeOrderAlreadyPaid,
		provider.CodeSessionNotPaid, provider.CodeSessionExpired, provider.CodeSessionRejected, provider.CodeSessionVoided,
		provider.CodeAlreadyPurchased, provider.CodeNotPurchased, provider.CodeRefundsExist, provider.CodeAmountExceedsAuth,
		provider.CodeAmountExceedsBalance, provider.CodeCurrencyMismatch, provider.CodeOperationInProgress} {
		if seen[c] == 0 {
			t.Errorf("no case reached verdict %q", c)
		}
	}
	t.Logf("%d cases", n)
}

// checkEffects checks what Begin left behind for its verdict.
func checkEffects(t *testing.T, r *raw, where, merchant, order, guid string, ask provider.Ask, b provider.Begun, before map[string]string) {
	t.Helper()
	ctx := context.Background()
	after := r.hash(t, merchant, order)
	record, err := r.rdb.HGetAll(ctx, r.guidKey(merchant, guid)).Result()
	if err != nil {
		t.Fatal(err)
	}
	switch b.Kind {
	case provider.Busy:
		if len(record) != 0 {
			t.Errorf("%s: a busy answer claimed the guid: %v", where, record)
		}
		if !maps.Equal(before, after) {
			t.Errorf("%s: a busy answer changed the session:\n before %v\n after  %v", where, before, after)
		}
		return
	case provider.Refused:
		if !maps.Equal(before, after) {
			t.Errorf("%s: a refusal changed the session:\n before %v\n after  %v", where, before, after)
		}
	}
	if b.Kind == provider.Claimed && ask.Action == provider.ActionStart {
		if record["s"] != "done" || record["b"] != `{"started":true}` {
			t.Errorf("%s: guid record = %v, want start-session's reply stored", where, record)
		}
	} else if record["s"] != "run" || record["t"] != "tok" || record["f"] != "fp" {
		t.Errorf("%s: guid record = %v, want a running claim", where, record)
	}
	mutates := ask.Action == provider.ActionPurchase || ask.Action == provider.ActionVoid || ask.Action == provider.ActionRefund
	ttl := r.rdb.PTTL(ctx, r.guidKey(merchant, guid)).Val()
	switch {
	case b.Kind == provider.Claimed && mutates:
		if ttl != -1 || r.rdb.ZScore(ctx, r.prefix+":{0}:doubt", "op\n"+merchant+"\n"+order+"\n"+guid).Val() == 0 {
			t.Errorf("%s: a claimed operation must live until settled and be in doubt (ttl %v)", where, ttl)
		}
	case ttl <= 0 && record["s"] == "run":
		t.Errorf("%s: a claim that reaches no processor must expire with its lease (ttl %v)", where, ttl)
	}
	if b.Kind != provider.Claimed {
		return
	}
	switch ask.Action {
	case provider.ActionStart:
		if after["id"] != "new-"+order || after["phase"] != string(provider.PhaseWaiting) || after["reserved"] != "0" {
			t.Errorf("%s: the new session is not in place: %v", where, after)
		}
		owner, _ := r.rdb.Get(ctx, r.indexKey("new-"+order)).Result()
		if owner != merchant+"\n"+order {
			t.Errorf("%s: session index = %q", where, owner)
		}
		steps, _ := r.rdb.LRange(ctx, r.historyKey(merchant, order), 0, -1).Result()
		if idx, _ := strconv.Atoi(after["startIdx"]); idx != len(steps)-1 {
			t.Errorf("%s: startIdx %d of %d steps", where, idx, len(steps))
		}
	case provider.ActionPurchase, provider.ActionVoid:
		if after["op"] != guid {
			t.Errorf("%s: op = %q, want the asker's lock", where, after["op"])
		}
		delete(after, "op")
		delete(before, "op")
		if !maps.Equal(before, after) {
			t.Errorf("%s: a claim changed more than the lock:\n before %v\n after  %v", where, before, after)
		}
	case provider.ActionRefund:
		wantRes, _ := strconv.ParseInt(before["reserved"], 10, 64)
		wantRes += int64(ask.Amount)
		wantMine := strconv.FormatInt(int64(ask.Amount), 10)
		if after["reserved"] != strconv.FormatInt(wantRes, 10) || after["r:"+guid] != wantMine {
			t.Errorf("%s: reserved = %s, r:%s = %s; want %d and %s",
				where, after["reserved"], guid, after["r:"+guid], wantRes, wantMine)
		}
		if b.Session == nil || int64(b.Session.Reserved) != wantRes {
			t.Errorf("%s: Begin's session does not show the reservation: %+v", where, b.Session)
		}
	case provider.ActionHistory:
		if !maps.Equal(before, after) {
			t.Errorf("%s: history changed the session", where)
		}
		if len(b.Steps) != 1 {
			t.Errorf("%s: history steps = %d, want 1", where, len(b.Steps))
		}
	}
}
