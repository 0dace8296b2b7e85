package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// The scripts that decide, each run on the same sessions as its Go rule
// (provider/verdicts.go), so the two cannot drift apart. Every case
// writes a session straight into Redis, runs the script through the
// store, reads back what it did, and compares with the rule applied to
// the very session the store held.

// sessionCase is one session a differential test runs on.
type sessionCase struct {
	name string
	spec spec
}

func sessionCases(now time.Time) []sessionCase {
	var out []sessionCase
	for _, p := range provider.Phases[1:] {
		for _, exp := range []struct {
			name string
			at   time.Time
		}{{"in time", now.Add(time.Hour)}, {"expiring now", now}, {"expired", now.Add(-time.Millisecond)}} {
			for _, token := range []string{"", "tok", "other", "new"} {
				s := spec{phase: p, typ: provider.Sale, expiresAt: exp.at, authorised: 10000, payToken: token}
				out = append(out, sessionCase{fmt.Sprintf("%s %s token %q", p, exp.name, token), s})
			}
		}
	}
	return out
}

// write puts a case's session in place and reads it back as the domain
// sees it.
func (r *raw) write(t *testing.T, order string, s spec) *provider.Session {
	t.Helper()
	r.mustWrite(t, "m1", order, s)
	sess, err := r.store.Order(context.Background(), "m1", order)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestClaimPaymentMirrorsClaimVerdict(t *testing.T) {
	r := mustRaw(t)
	now := time.Now().Truncate(time.Millisecond)
	n, seen := 0, map[provider.Code]int{}
	for _, c := range sessionCases(now) {
		for _, stage := range []string{provider.StageCard, provider.StageThreeDS} {
			for _, sameID := range []bool{true, false} {
				n++
				order := fmt.Sprintf("o%d", n)
				sess := r.write(t, order, c.spec)
				sid := sess.ID
				if !sameID {
					sid = "another-session"
				}
				want := provider.ClaimVerdict(sess, sid, stage, "new", now)
				seen[want]++
				_, err := r.store.ClaimPayment(context.Background(), provider.PaymentClaim{SessionID: sid, Merchant: "m1", OrderID: order,
					Stage: stage, Token: "new", Lease: time.Minute, Deadline: now.Add(time.Minute), Now: now, Amount: 100})
				got := provider.Code("")
				if err != nil {
					got = provider.ErrorCode(err)
				}
				if got != want {
					t.Errorf("%s, stage %s, same id %v: the script says %q, ClaimVerdict %q", c.name, stage, sameID, got, want)
				}
				after := r.hash(t, "m1", order)
				if got == "" && (after["phase"] != "PAYING" || after["payToken"] != "new" || after["payStage"] != stage) {
					t.Errorf("%s, stage %s: claimed but the session reads %v", c.name, stage, after)
				}
				if got != "" && after["payToken"] != c.spec.payToken {
					t.Errorf("%s, stage %s: refused (%s) but the session changed: %v", c.name, stage, got, after)
				}
			}
		}
	}
	for _, code := range []provider.Code{"", provider.CodeSessionUnknown, provider.CodeSessionExpired, provider.CodePaymentInProgress} {
		if seen[code] == 0 {
			t.Errorf("no case reached %q", code)
		}
	}
	t.Logf("%d cases", n)
}

func TestSettlePaymentMirrorsHoldsPayment(t *testing.T) {
	r := mustRaw(t)
	now := time.Now().Truncate(time.Millisecond)
	n, held := 0, 0
	for _, c := range sessionCases(now) {
		n++
		order := fmt.Sprintf("o%d", n)
		sess := r.write(t, order, c.spec)
		want := provider.HoldsPayment(sess, "tok")
		after, err := r.store.SettlePayment(context.Background(), provider.PaymentSettlement{
			PaymentClaim: provider.PaymentClaim{SessionID: sess.ID, Merchant: "m1", OrderID: order, Token: "tok", Now: now},
			Phase:        provider.PhaseAuthorised, Detail: "settled", Authorised: 777, StartStep: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		if got := after.Authorised == 777; got != want {
			t.Errorf("%s: the script settled %v, HoldsPayment %v", c.name, got, want)
		}
		if want {
			held++
		}
	}
	if held == 0 || held == n {
		t.Fatalf("%d of %d cases held the payment: the cases prove little", held, n)
	}
}

func TestRefuseTryMirrorsTryCounts(t *testing.T) {
	r := mustRaw(t)
	now := time.Now().Truncate(time.Millisecond)
	n, counted := 0, 0
	for _, c := range sessionCases(now) {
		for _, sameID := range []bool{true, false} {
			n++
			order := fmt.Sprintf("o%d", n)
			sess := r.write(t, order, c.spec)
			sid := sess.ID
			if !sameID {
				sid = "another-session"
			}
			want := provider.TryCounts(sess, sid, now)
			after, err := r.store.RefuseTry(context.Background(), provider.Try{SessionID: sid, Merchant: "m1", OrderID: order,
				MaxTries: 3, Now: now, RejectedStep: "{}", Detail: "too many"})
			if err != nil {
				t.Fatal(err)
			}
			if got := after.Tries == 1; got != want {
				t.Errorf("%s, same id %v: the script counted %v, TryCounts %v", c.name, sameID, got, want)
			}
			if want {
				counted++
			}
		}
	}
	if counted == 0 || counted == n {
		t.Fatalf("%d of %d cases counted: the cases prove little", counted, n)
	}
}

func TestTransitionMirrorsTransitionApplies(t *testing.T) {
	r := mustRaw(t)
	now := time.Now().Truncate(time.Millisecond)
	changes := []struct {
		name       string
		from       []provider.Phase
		mustExpire bool
	}{
		{"pending resolved", []provider.Phase{provider.PhasePending}, false},
		{"expired unpaid", []provider.Phase{provider.PhaseWaiting, provider.PhaseThreeDS}, true},
	}
	n, applied := 0, 0
	for _, c := range sessionCases(now) {
		for _, ch := range changes {
			for _, sameID := range []bool{true, false} {
				n++
				order := fmt.Sprintf("o%d", n)
				sess := r.write(t, order, c.spec)
				sid := sess.ID
				if !sameID {
					sid = "another-session"
				}
				want := provider.TransitionApplies(sess, sid, ch.from, ch.mustExpire, now)
				after, err := r.store.Transition(context.Background(), provider.Transition{Schedule: provider.ScheduleExpiry,
					Due: provider.Due{Merchant: "m1", OrderID: order, SessionID: sid}, From: ch.from, Expired: ch.mustExpire,
					Now: now, Phase: provider.PhaseRejected, Rejection: provider.SubRisky, Detail: "changed", StartStep: "{}"})
				if err != nil {
					t.Fatal(err)
				}
				if got := after.Detail == "changed"; got != want {
					t.Errorf("%s, %s, same id %v: the script applied %v, TransitionApplies %v", c.name, ch.name, sameID, got, want)
				}
				if want {
					applied++
				}
			}
		}
	}
	if applied == 0 || applied == n {
		t.Fatalf("%d of %d cases applied: the cases prove little", applied, n)
	}
}

func TestFinishMirrorsSettles(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	now := time.Now()
	holders := []struct {
		name string
		edit func(s *spec)
	}{
		{"holds the order", func(s *spec) { s.op = "g1" }},
		{"another holds the order", func(s *spec) { s.op = "g2" }},
		{"holds a reservation", func(s *spec) { s.reservations = map[string]int64{"g1": 1000} }},
		{"another holds a reservation", func(s *spec) { s.reservations = map[string]int64{"g2": 1000} }},
		{"holds nothing", func(*spec) {}},
	}
	n, settled := 0, 0
	for _, h := range holders {
		for _, done := range []bool{false, true} {
			n++
			order := fmt.Sprintf("o%d", n)
			s := spec{phase: provider.PhasePurchased, typ: provider.Sale, expiresAt: now.Add(time.Hour), authorised: 10000, captured: 10000}
			h.edit(&s)
			sess := r.write(t, order, s)
			if done {
				r.rdb.HSet(ctx, r.guidKey("m1", "g1"), "s", "done", "f", "fp", "c", 200, "b", "{}", "x", 0)
			} else {
				r.rdb.HSet(ctx, r.guidKey("m1", "g1"), "s", "run", "f", "fp", "t", "tok")
			}
			want := provider.Settles(sess, "g1", done)
			_, err := r.store.Finish(ctx, provider.FinishInput{Claim: provider.Claim{Merchant: "m1", OrderID: order, GUID: "g1", Token: "tok", Fingerprint: "fp"},
				Settle: &provider.Settlement{Refunded: 1000, Release: 1000}, Step: "{}",
				Reply: provider.Reply{Status: 200, Body: []byte("{}"), Expires: now.Add(time.Hour)}, TTL: time.Hour, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.hash(t, "m1", order)["refunded"] == "1000"; got != want {
				t.Errorf("%s, settled before %v: the script settled %v, Settles %v", h.name, done, got, want)
			}
			if want {
				settled++
			}
			r.rdb.Del(ctx, r.guidKey("m1", "g1"))
		}
	}
	if settled == 0 || settled == n {
		t.Fatalf("%d of %d cases settled: the cases prove little", settled, n)
	}
}
