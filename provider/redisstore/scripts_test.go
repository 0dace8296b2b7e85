package redisstore_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/idempotency"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// The scripts decide; these tables say what they must decide. Each case
// writes a session into Redis as it stands, runs one script through the
// store, and compares the verdict and the session fields the script
// wrote with the case's literal expectation. They run on redis-server
// (`go test`) and on the embedded store (`make test-embedded`).

// caseNow is the clock of every case; times in the writes read from it.
var caseNow = time.Date(2026, 11, 22, 11, 5, 9, 123e6, time.UTC)

// in is a session in phase p with round amounts (100.00; an AUTHORISED or
// VOIDED one authorised, a PURCHASED one captured), expiring in an hour.
func in(p provider.Phase, edits ...func(*spec)) *spec {
	s := &spec{phase: p, typ: provider.Sale, expiresAt: caseNow.Add(time.Hour)}
	switch p {
	case provider.PhaseAuthorised, provider.PhaseVoided:
		s.authorised = 10000
	case provider.PhasePurchased:
		s.authorised, s.captured = 10000, 10000
	}
	for _, e := range edits {
		e(s)
	}
	return s
}

func auth(s *spec)        { s.typ = provider.Auth }
func pastExpiry(s *spec)  { s.expiresAt = caseNow.Add(-time.Millisecond) }
func expiringNow(s *spec) { s.expiresAt = caseNow }
func noExpiry(s *spec)    { s.noExpiry = true }
func lockedBy(guid string) func(*spec) {
	return func(s *spec) { s.op = guid }
}
func refunded(m int64) func(*spec) { return func(s *spec) { s.refunded = m } }
func reserving(guid string, m int64) func(*spec) {
	return func(s *spec) { s.reservations = map[string]int64{guid: m} }
}
func settledGUIDs(guids ...string) func(*spec) { return func(s *spec) { s.settled = guids } }
func paying(token, stage string) func(*spec) {
	return func(s *spec) { s.payToken, s.payStage = token, stage }
}
func tries(n int) func(*spec) { return func(s *spec) { s.tries = n } }

// writes is what a script changed in a session hash: "field=value" for a
// field written, "-field" for one deleted, sorted. Times read from caseNow.
func writes(before, after map[string]string) string {
	var out []string
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			out = append(out, k+"="+readable(k, v))
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, "-"+k)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.TrimPrefix(a, "-"), strings.TrimPrefix(b, "-")) })
	return strings.Join(out, " ")
}

func readable(field, v string) string {
	switch field {
	case "expiresAt", "payUntil", "resolveAt", "createdAt":
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms == 0 {
			return v
		}
		switch d := time.UnixMilli(ms).Sub(caseNow); {
		case d > 0:
			return "now+" + d.String()
		case d < 0:
			return "now" + d.String()
		}
		return "now"
	}
	return v
}

// caseOrder gives each case its own merchant and order, so guid records
// (kept per merchant) never meet across cases.
func caseOrder(i int) (merchant, order string) { return fmt.Sprintf("m%d", i), fmt.Sprintf("o%d", i) }

// put writes a case's session (nil: none) and returns its hash and id.
func (r *raw) put(t *testing.T, merchant, order string, s *spec) (map[string]string, string) {
	t.Helper()
	if s == nil {
		return map[string]string{}, "sess-" + order
	}
	id := r.mustWrite(t, merchant, order, *s)
	return r.hash(t, merchant, order), id
}

// onCase runs case i on its own order: its session written, act run on
// the session id the script is asked about (another one when other), and
// what the script wrote on the session compared with want.
func (r *raw) onCase(t *testing.T, i int, s *spec, other bool, want string, act func(merchant, order, sid string)) {
	t.Helper()
	merchant, order := caseOrder(i)
	before, sid := r.put(t, merchant, order, s)
	if other {
		sid = "another-session"
	}
	act(merchant, order, sid)
	if w := writes(before, r.hash(t, merchant, order)); w != want {
		t.Errorf("wrote %q, want %q", w, want)
	}
}

// ask is an Akinon call as Begin receives it.
type ask struct {
	action   provider.Action
	amount   provider.Money
	currency string
}

// mutates: the call may reach the processor and changes the session.
func (a ask) mutates() bool {
	return a.action == provider.ActionPurchase || a.action == provider.ActionVoid || a.action == provider.ActionRefund
}

func start() ask                    { return ask{action: provider.ActionStart} }
func purchase(m provider.Money) ask { return ask{action: provider.ActionPurchase, amount: m} }
func void() ask                     { return ask{action: provider.ActionVoid} }
func history() ask                  { return ask{action: provider.ActionHistory} }
func refund(m provider.Money, currency string) ask {
	return ask{action: provider.ActionRefund, amount: m, currency: currency}
}

// started stands for the writes of a start-session that was claimed: the
// order's session is replaced by the new one.
const started = "the new session"

// beginCases are begin.lua's verdicts, asked by guid g1: "claimed",
// "busy" (operation_in_progress, nothing stored), or the refusal's code.
var beginCases = []struct {
	name   string
	sess   *spec // nil: the order has no session
	ask    ask
	want   string
	writes string
}{
	{"start on an order without a session", nil, start(), "claimed", started},
	{"purchase without a session", nil, purchase(0), "order_not_found", ""},
	{"void without a session", nil, void(), "order_not_found", ""},
	{"refund without a session", nil, refund(100, "TRY"), "order_not_found", ""},
	{"history without a session", nil, history(), "order_not_found", ""},

	// Expiry is read at the moment of the ask, before any job records it.
	{"purchase of an unpaid session past its expiry", in(provider.PhaseWaiting, pastExpiry), purchase(0), "session_expired", ""},
	{"start over an unpaid session past its expiry", in(provider.PhaseWaiting, pastExpiry), start(), "claimed", started},
	{"expiry at the exact millisecond", in(provider.PhaseWaiting, expiringNow), refund(100, "TRY"), "session_expired", ""},
	{"a session without expiresAt has not expired", in(provider.PhaseWaiting, noExpiry), purchase(0), "session_not_paid", ""},
	{"an authorised session does not expire", in(provider.PhaseAuthorised, pastExpiry), purchase(0), "claimed", "op=g1"},
	{"a 3-D Secure challenge nobody answered expires", in(provider.PhaseThreeDS, pastExpiry), purchase(0), "session_expired", ""},
	{"start over an unanswered challenge past its expiry", in(provider.PhaseThreeDS, pastExpiry), start(), "claimed", started},
	{"a payment at the processor does not expire", in(provider.PhasePaying, pastExpiry), start(), "payment_in_progress", ""},
	{"a pending payment does not expire", in(provider.PhasePending, pastExpiry), start(), "payment_in_progress", ""},

	// Another operation under way blocks every mutating call, whatever the phase says.
	{"purchase while another purchase runs", in(provider.PhaseAuthorised, lockedBy("g2")), purchase(0), "busy", ""},
	{"void while a purchase runs", in(provider.PhaseAuthorised, lockedBy("g2")), void(), "busy", ""},
	{"refund while a void runs", in(provider.PhasePurchased, lockedBy("g2")), refund(100, "TRY"), "busy", ""},
	{"a lock beats the phase's refusal", in(provider.PhaseVoided, lockedBy("g2")), refund(100, "TRY"), "busy", ""},
	{"history reads through a lock", in(provider.PhasePurchased, lockedBy("g2")), history(), "claimed", ""},
	{"start is not blocked by a lock", in(provider.PhaseRejected, lockedBy("g2")), start(), "claimed", started},
	// A hold is a hold, whoever asks: a retry of the holder's own guid
	// meets its running record first (request_in_progress).
	{"the lock, asked by its own guid", in(provider.PhaseAuthorised, lockedBy("g1")), purchase(0), "busy", ""},
	{"a reservation is counted, whoever asks", in(provider.PhasePurchased, reserving("g1", 10000)), refund(1, "TRY"), "amount_exceeds_balance", ""},
	{"someone else's reservation counts", in(provider.PhasePurchased, reserving("g2", 9000)), refund(1001, "TRY"), "amount_exceeds_balance", ""},
	{"up to the balance left beside a reservation", in(provider.PhasePurchased, reserving("g2", 9000)), refund(1000, "TRY"), "claimed", "r:g1=1000 reserved=10000"},

	// The guards on amounts.
	{"refund of the whole balance", in(provider.PhasePurchased), refund(10000, "TRY"), "claimed", "r:g1=10000 reserved=10000"},
	{"refund one cent above the balance", in(provider.PhasePurchased), refund(10001, "TRY"), "amount_exceeds_balance", ""},
	{"refund above what is left after refunds", in(provider.PhasePurchased, refunded(8000)), refund(2001, "TRY"), "amount_exceeds_balance", ""},
	{"refund of what is left after refunds", in(provider.PhasePurchased, refunded(8000)), refund(2000, "TRY"), "claimed", "r:g1=2000 reserved=2000"},
	{"refund of a fully refunded purchase", in(provider.PhasePurchased, refunded(10000)), refund(1, "TRY"), "amount_exceeds_balance", ""},
	{"refund in another currency", in(provider.PhasePurchased), refund(100, "EUR"), "currency_mismatch", ""},
	{"currency is checked before the amount", in(provider.PhasePurchased), refund(99999, "EUR"), "currency_mismatch", ""},
	{"AUTH capture of part", in(provider.PhaseAuthorised, auth), purchase(5000), "claimed", "op=g1"},
	{"AUTH capture of all", in(provider.PhaseAuthorised, auth), purchase(10000), "claimed", "op=g1"},
	{"AUTH capture above the authorisation", in(provider.PhaseAuthorised, auth), purchase(10001), "amount_exceeds_authorised", ""},
	{"AUTH capture with no amount takes all", in(provider.PhaseAuthorised, auth), purchase(0), "claimed", "op=g1"},
	{"SALE ignores orderAmount", in(provider.PhaseAuthorised), purchase(99999), "claimed", "op=g1"},
	{"void of a purchase without refunds", in(provider.PhasePurchased), void(), "claimed", "op=g1"},
	{"void of a purchase with refunds", in(provider.PhasePurchased, refunded(1)), void(), "refunds_exist", ""},
	{"void while a refund is under way", in(provider.PhasePurchased, reserving("g2", 100)), void(), "busy", ""},
	{"void of an authorisation", in(provider.PhaseAuthorised), void(), "claimed", "op=g1"},

	// A guid settled on the order whose record has expired is not run again.
	{"a refund retried after its record expired", in(provider.PhasePurchased, settledGUIDs("g1")), refund(100, "TRY"), "idempotency_key_reused", ""},
	{"another guid settled on the order does not matter", in(provider.PhasePurchased, settledGUIDs("g2")), refund(100, "TRY"), "claimed", "r:g1=100 reserved=100"},
}

// beginByPhase is the state machine on a plain session: what each call
// gets in each phase (purchase with no amount, refund of 1.00 TRY).
var beginByPhase = []struct {
	phase                                  provider.Phase
	start, purchase, void, refund, history string
}{
	{provider.PhaseWaiting, "claimed", "session_not_paid", "session_not_paid", "not_purchased", "claimed"},
	{provider.PhasePaying, "payment_in_progress", "session_not_paid", "session_not_paid", "not_purchased", "claimed"},
	{provider.PhaseThreeDS, "payment_in_progress", "session_not_paid", "session_not_paid", "not_purchased", "claimed"},
	{provider.PhasePending, "payment_in_progress", "session_not_paid", "session_not_paid", "not_purchased", "claimed"},
	{provider.PhaseAuthorised, "order_already_paid", "claimed", "claimed", "not_purchased", "claimed"},
	{provider.PhasePurchased, "order_already_paid", "already_purchased", "claimed", "claimed", "claimed"},
	{provider.PhaseVoided, "session_voided", "session_voided", "session_voided", "session_voided", "claimed"},
	{provider.PhaseRejected, "claimed", "session_rejected", "session_rejected", "session_rejected", "claimed"},
	{provider.PhaseExpired, "claimed", "session_expired", "session_expired", "session_expired", "claimed"},
}

// claimWrites is what a claimed call writes on the session: a lock for a
// purchase or void, a reservation for a refund, nothing for a read.
func claimWrites(a ask) string {
	switch a.action {
	case provider.ActionStart:
		return started
	case provider.ActionPurchase, provider.ActionVoid:
		return "op=g1"
	case provider.ActionRefund:
		return fmt.Sprintf("r:g1=%d reserved=%d", a.amount, a.amount)
	}
	return ""
}

func TestBeginCases(t *testing.T) {
	r := mustRaw(t)
	n := 0
	run := func(name string, s *spec, a ask, want, wantWrites string) {
		n++
		merchant, order := caseOrder(n)
		t.Run(name, func(t *testing.T) { r.begin(t, merchant, order, s, a, want, wantWrites) })
	}
	for _, c := range beginCases {
		run(c.name, c.sess, c.ask, c.want, c.writes)
	}
	for _, row := range beginByPhase {
		for a, want := range map[ask]string{start(): row.start, purchase(0): row.purchase, void(): row.void,
			refund(100, "TRY"): row.refund, history(): row.history} {
			w := ""
			if want == "claimed" {
				w = claimWrites(a)
			}
			run(fmt.Sprintf("%s on %s", a.action, row.phase), in(row.phase), a, want, w)
		}
	}
	if len(beginByPhase) != len(provider.Phases)-1 {
		t.Errorf("beginByPhase has %d phases, the machine %d besides none", len(beginByPhase), len(provider.Phases)-1)
	}
}

// begin runs one Begin case and checks its verdict, what it wrote on the
// session, and the guid record each verdict leaves.
func (r *raw) begin(t *testing.T, merchant, order string, s *spec, a ask, want, wantWrites string) {
	t.Helper()
	ctx := context.Background()
	before, _ := r.put(t, merchant, order, s)
	in := provider.BeginInput{
		Claim: provider.Claim{Merchant: merchant, OrderID: order, GUID: "g1", Token: "tok", Fingerprint: "fp"},
		Lease: time.Minute, Deadline: caseNow.Add(time.Minute),
		Ask: provider.Ask{Action: a.action, GUID: "g1", Amount: a.amount, Currency: a.currency, Now: caseNow},
	}
	if a.action == provider.ActionStart {
		in.New = &provider.Session{ID: "new-" + order, TransactionID: "t", Merchant: merchant, OrderID: order,
			StartGUID: "g1", Type: provider.Sale, Currency: "TRY", Amount: 5000, CreatedAt: caseNow,
			ExpiresAt: caseNow.Add(time.Hour), Phase: provider.PhaseWaiting}
		in.StartStep = provider.MarshalStep(in.New.StartStep())
		in.Reply, in.TTL = provider.Reply{Status: 200, Body: []byte(`{"started":true}`), Expires: caseNow.Add(time.Hour)}, time.Hour
	}
	b, err := r.store.Begin(ctx, in)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	got := map[provider.BegunKind]string{provider.Claimed: "claimed", provider.Busy: "busy", provider.Replayed: "replayed",
		provider.InFlight: "in_flight", provider.Reused: "reused"}[b.Kind]
	if b.Kind == provider.Refused {
		got = string(b.Refusal)
	}
	if got != want {
		t.Fatalf("verdict %q, want %q", got, want)
	}
	after := r.hash(t, merchant, order)
	if wantWrites == started {
		r.checkStarted(t, merchant, order, after)
	} else if w := writes(before, after); w != wantWrites {
		t.Errorf("wrote %q, want %q", w, wantWrites)
	}
	r.checkBeginRecord(t, merchant, order, a, got)
	// What Begin hands the service is the session as it now stands.
	if got == "claimed" && a.action == provider.ActionHistory && len(b.Steps) != 1 {
		t.Errorf("history read %d steps, want the one written", len(b.Steps))
	}
	if got == "claimed" && a.action == provider.ActionRefund && (b.Session == nil || strconv.FormatInt(int64(b.Session.Reserved), 10) != after["reserved"]) {
		t.Errorf("Begin's session does not show the reservation: %+v", b.Session)
	}
	if got == "claimed" && a.mutates() {
		stored, err := r.store.Order(ctx, merchant, order)
		if err != nil || !reflect.DeepEqual(b.Session, stored) {
			t.Errorf("Begin's session is not the one stored:\n got %+v\nwant %+v (%v)", b.Session, stored, err)
		}
	}
}

// checkStarted: the order's session is the new one, indexed by its id,
// its START step the last of the history.
func (r *raw) checkStarted(t *testing.T, merchant, order string, after map[string]string) {
	t.Helper()
	ctx := context.Background()
	if after["id"] != "new-"+order || after["phase"] != "WAITING" || after["op"] != "" || after["reserved"] != "0" {
		t.Errorf("the new session is not in place: %v", after)
	}
	if owner, _ := r.rdb.Get(ctx, r.indexKey("new-"+order)).Result(); owner != merchant+"\n"+order {
		t.Errorf("session index = %q", owner)
	}
	steps, _ := r.rdb.LRange(ctx, r.historyKey(merchant, order), 0, -1).Result()
	if idx, _ := strconv.Atoi(after["startIdx"]); idx != len(steps)-1 {
		t.Errorf("startIdx %d of %d steps", idx, len(steps))
	}
}

// checkBeginRecord checks the guid record a verdict leaves: none for a
// busy answer; start-session's reply stored; a purchase, void or refund
// claimed until it is settled, in doubt; anything else claimed for the
// lease.
func (r *raw) checkBeginRecord(t *testing.T, merchant, order string, a ask, verdict string) {
	t.Helper()
	ctx := context.Background()
	f := idempotency.Record
	key := r.guidKey(merchant, "g1")
	rec, err := r.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	ttl := r.rdb.PTTL(ctx, key).Val()
	inDoubt := r.rdb.ZScore(ctx, r.doubtKey(), "op\n"+merchant+"\n"+order+"\ng1").Err() == nil
	switch {
	case verdict == "busy":
		if len(rec) != 0 || inDoubt {
			t.Errorf("a busy answer claimed the guid: %v, in doubt %v", rec, inDoubt)
		}
	case verdict == "claimed" && a.action == provider.ActionStart:
		if rec[f.State] != "done" || rec[f.Body] != `{"started":true}` || rec[f.Status] != "200" {
			t.Errorf("guid record %v: want start-session's reply stored", rec)
		}
	case verdict == "claimed" && a.mutates():
		want := map[string]string{f.State: "run", f.Token: "tok", f.Fingerprint: "fp", f.Order: order,
			f.Action: string(a.action), f.Amount: strconv.FormatInt(int64(a.amount), 10)}
		if !maps.Equal(rec, want) || ttl != -1 || !inDoubt {
			t.Errorf("guid record %v (ttl %v, in doubt %v): want %v, kept until settled, in doubt", rec, ttl, inDoubt, want)
		}
	default:
		want := map[string]string{f.State: "run", f.Token: "tok", f.Fingerprint: "fp", f.Order: order}
		if !maps.Equal(rec, want) || ttl <= 0 || inDoubt {
			t.Errorf("guid record %v (ttl %v, in doubt %v): want %v for the lease, not in doubt", rec, ttl, inDoubt, want)
		}
	}
}

// claimCases are claim_payment.lua's verdicts on a card form (stage card)
// or a 3-D Secure code (stage 3ds) submitted with token "new".
var claimCases = []struct {
	name         string
	sess         *spec
	otherSession bool // the form was shown for another session of the order
	stage        string
	want         string // "claimed" or the refusal's code
	writes       string
}{
	{"a waiting session takes a card", in(provider.PhaseWaiting), false, "card", "claimed",
		"bin=454360 installment=3 last4=0010 payAmount=10000 payStage=card payToken=new payUntil=now+1m0s phase=PAYING"},
	{"a challenge takes its code", in(provider.PhaseThreeDS), false, "3ds", "claimed",
		"payStage=3ds payToken=new payUntil=now+1m0s phase=PAYING"},
	{"the holder's own claim sent again", in(provider.PhasePaying, paying("new", "card")), false, "card", "claimed",
		"bin=454360 installment=3 last4=0010 payAmount=10000 payUntil=now+1m0s"},
	{"the holder's own claim sent again past the expiry", in(provider.PhasePaying, paying("new", "card"), pastExpiry), false, "card", "claimed",
		"bin=454360 installment=3 last4=0010 payAmount=10000 payUntil=now+1m0s"},
	{"no session", nil, false, "card", "session_not_found", ""},
	{"a form of a session since replaced", in(provider.PhaseWaiting), true, "card", "session_not_found", ""},
	{"a card after the expiry", in(provider.PhaseWaiting, pastExpiry), false, "card", "session_expired", ""},
	{"a card at the exact millisecond of expiry", in(provider.PhaseWaiting, expiringNow), false, "card", "session_expired", ""},
	{"a code after the challenge expired", in(provider.PhaseThreeDS, pastExpiry), false, "3ds", "session_expired", ""},
	{"an expired session", in(provider.PhaseExpired), false, "card", "session_expired", ""},
	{"a card on a challenge", in(provider.PhaseThreeDS), false, "card", "payment_in_progress", ""},
	{"a code on a session waiting for a card", in(provider.PhaseWaiting), false, "3ds", "payment_in_progress", ""},
	{"a second submit while another holds the payment", in(provider.PhasePaying, paying("other", "card")), false, "card", "payment_in_progress", ""},
	{"another holder, past the expiry: a payment at the bank does not expire", in(provider.PhasePaying, paying("other", "card"), pastExpiry), false, "card", "payment_in_progress", ""},
	{"the holder's token at another stage", in(provider.PhasePaying, paying("new", "card")), false, "3ds", "payment_in_progress", ""},
	{"a pending payment", in(provider.PhasePending), false, "card", "payment_in_progress", ""},
	{"an authorised payment", in(provider.PhaseAuthorised), false, "card", "payment_in_progress", ""},
	{"a purchased order", in(provider.PhasePurchased), false, "card", "payment_in_progress", ""},
	{"a voided session", in(provider.PhaseVoided), false, "card", "payment_in_progress", ""},
	{"a rejected session", in(provider.PhaseRejected), false, "card", "payment_in_progress", ""},
}

func TestClaimPaymentCases(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	for i, c := range claimCases {
		t.Run(c.name, func(t *testing.T) {
			r.onCase(t, i, c.sess, c.otherSession, c.writes, func(merchant, order, sid string) {
				_, err := r.store.ClaimPayment(ctx, provider.PaymentClaim{SessionID: sid, Merchant: merchant, OrderID: order,
					Stage: c.stage, Token: "new", Lease: time.Minute, Deadline: caseNow.Add(time.Minute), Now: caseNow,
					Amount: 10000, Installment: 3, CardBIN: "454360", CardLast4: "0010"})
				got := "claimed"
				if err != nil {
					got = string(provider.ErrorCode(err))
				}
				if got != c.want {
					t.Fatalf("verdict %q, want %q", got, c.want)
				}
				inDoubt := r.rdb.ZScore(ctx, r.doubtKey(), "pay\n"+merchant+"\n"+order+"\n"+sid).Err() == nil
				if inDoubt != (got == "claimed") {
					t.Errorf("in doubt %v after %q", inDoubt, got)
				}
			})
		})
	}
}

// settleCases are settle_payment.lua's: the holder of token "tok" records
// the bank's approval, or the script records nothing. The payment's doubt
// entry goes unless the payment is still at the bank under another claim.
var settleCases = []struct {
	name   string
	sess   *spec
	writes string
	doubt  string // "kept" or "removed"
}{
	{"the holder records the bank's answer", in(provider.PhasePaying, paying("tok", "card")),
		"authorised=10000 bin=454360 challengeId= detail=approved installment=3 last4=0010 -payStage paySubSteps=null -payToken -payUntil phase=AUTHORISED processorId=bank-1 rejection= resolveAt=0",
		"removed"},
	{"the holder, past the session's expiry", in(provider.PhasePaying, paying("tok", "3ds"), pastExpiry),
		"authorised=10000 bin=454360 challengeId= detail=approved installment=3 last4=0010 -payStage paySubSteps=null -payToken -payUntil phase=AUTHORISED processorId=bank-1 rejection= resolveAt=0",
		"removed"},
	{"a holder whose claim another took", in(provider.PhasePaying, paying("other", "card")), "", "kept"},
	{"a payment at the bank with no token", in(provider.PhasePaying), "", "kept"},
	{"a payment already settled", in(provider.PhaseAuthorised), "", "removed"},
	{"a session back to waiting with the old token", in(provider.PhaseWaiting, paying("tok", "card")), "", "removed"},
	{"a challenge with the old token", in(provider.PhaseThreeDS, paying("tok", "card")), "", "removed"},
}

func TestSettlePaymentCases(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	for i, c := range settleCases {
		t.Run(c.name, func(t *testing.T) {
			var member string
			r.onCase(t, i, c.sess, false, c.writes, func(merchant, order, sid string) {
				member = "pay\n" + merchant + "\n" + order + "\n" + sid
				r.rdb.ZAdd(ctx, r.doubtKey(), zAt(caseNow, member))
				_, err := r.store.SettlePayment(ctx, provider.PaymentSettlement{
					PaymentClaim: provider.PaymentClaim{SessionID: sid, Merchant: merchant, OrderID: order, Token: "tok", Now: caseNow},
					Paid: &provider.Session{Phase: provider.PhaseAuthorised, Detail: "approved", Authorised: 10000, Installment: 3,
						CardBIN: "454360", CardLast4: "0010", ProcessorID: "bank-1"}, StartStep: "{}"})
				if err != nil {
					t.Fatal(err)
				}
			})
			doubt := "removed"
			if r.rdb.ZScore(ctx, r.doubtKey(), member).Err() == nil {
				doubt = "kept"
			}
			if doubt != c.doubt {
				t.Errorf("doubt entry %s, want %s", doubt, c.doubt)
			}
		})
	}
}

// refuseCases are refuse_try.lua's: a refused card form counts against
// the session it was shown for while it waits for a card; the third
// (MaxTries) rejects it.
var refuseCases = []struct {
	name         string
	sess         *spec
	otherSession bool
	writes       string
}{
	{"the first refused form", in(provider.PhaseWaiting), false, "tries=1"},
	{"the last allowed try rejects the session", in(provider.PhaseWaiting, tries(2)), false,
		"detail=too many invalid card entries phase=REJECTED rejection=RISKY tries=3"},
	{"a form of a session since replaced", in(provider.PhaseWaiting), true, ""},
	{"a form after the expiry", in(provider.PhaseWaiting, pastExpiry), false, ""},
	{"a form at the exact millisecond of expiry", in(provider.PhaseWaiting, expiringNow), false, ""},
	{"a form while the payment is at the bank", in(provider.PhasePaying, paying("tok", "card")), false, ""},
	{"a form on a challenge", in(provider.PhaseThreeDS), false, ""},
	{"a form on an authorised session", in(provider.PhaseAuthorised), false, ""},
}

func TestRefuseTryCases(t *testing.T) {
	r := mustRaw(t)
	for i, c := range refuseCases {
		t.Run(c.name, func(t *testing.T) {
			r.onCase(t, i, c.sess, c.otherSession, c.writes, func(merchant, order, sid string) {
				_, err := r.store.RefuseTry(context.Background(), provider.Try{SessionID: sid, Merchant: merchant, OrderID: order,
					MaxTries: 3, Now: caseNow, RejectedStep: "{}", Detail: "too many invalid card entries"})
				if err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// The two changes the gateway makes by itself.
var (
	resolve = provider.Transition{Schedule: provider.SchedulePending, From: []provider.Phase{provider.PhasePending},
		Phase: provider.PhaseAuthorised, Detail: "approved later"}
	expire = provider.Transition{Schedule: provider.ScheduleExpiry, From: []provider.Phase{provider.PhaseWaiting, provider.PhaseThreeDS},
		Expired: true, Phase: provider.PhaseExpired, Detail: "expired"}
)

// transitionCases are transition.lua's: a change applies only to the
// session scheduled, in a phase it starts from, and (an expiry) past the
// session's expiry. Its schedule entry goes either way.
var transitionCases = []struct {
	name         string
	sess         *spec
	change       provider.Transition
	otherSession bool
	writes       string
}{
	{"a pending payment resolved", in(provider.PhasePending), resolve, false, "detail=approved later paySubSteps=null phase=AUTHORISED rejection="},
	{"a pending payment past the expiry is still resolved", in(provider.PhasePending, pastExpiry), resolve, false,
		"detail=approved later paySubSteps=null phase=AUTHORISED rejection="},
	{"a resolution for a session since replaced", in(provider.PhasePending), resolve, true, ""},
	{"a resolution of a payment already settled", in(provider.PhaseAuthorised), resolve, false, ""},
	{"an unpaid session expires", in(provider.PhaseWaiting, pastExpiry), expire, false, "detail=expired paySubSteps=null phase=EXPIRED rejection="},
	{"an expiry at the exact millisecond", in(provider.PhaseWaiting, expiringNow), expire, false, "detail=expired paySubSteps=null phase=EXPIRED rejection="},
	{"an unanswered challenge expires", in(provider.PhaseThreeDS, pastExpiry), expire, false, "detail=expired paySubSteps=null phase=EXPIRED rejection="},
	{"an unpaid session before its expiry", in(provider.PhaseWaiting), expire, false, ""},
	{"a payment at the bank does not expire", in(provider.PhasePaying, pastExpiry), expire, false, ""},
	{"an expiry for a session since replaced", in(provider.PhaseWaiting, pastExpiry), expire, true, ""},
}

func TestTransitionCases(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	for i, c := range transitionCases {
		t.Run(c.name, func(t *testing.T) {
			sched := r.prefix + ":{0}:sched:" + string(c.change.Schedule)
			var member string
			r.onCase(t, i, c.sess, c.otherSession, c.writes, func(merchant, order, sid string) {
				member = merchant + "\n" + order + "\n" + sid
				r.rdb.ZAdd(ctx, sched, zAt(caseNow, member))
				ch := c.change
				ch.Due, ch.Now, ch.StartStep = provider.Due{Merchant: merchant, OrderID: order, SessionID: sid}, caseNow, "{}"
				applied, errs := r.store.Transitions(ctx, []provider.Transition{ch})
				if errs[0] != nil {
					t.Fatal(errs[0])
				}
				if applied[0] != (c.writes != "") {
					t.Errorf("applied = %v, yet it wrote %q", applied[0], c.writes)
				}
			})
			if r.rdb.ZScore(ctx, sched, member).Err() == nil {
				t.Error("the schedule entry is still there")
			}
		})
	}
}

// TestTransitionsInOneCall applies every transition case in one call, as
// a job's pass does, on a server that has forgotten the script (as after
// a restart): each case ends as it does on its own.
func TestTransitionsInOneCall(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	r := &raw{rdb: rdb, prefix: "gw", store: redisstore.New(rdb, "gw", 1)}
	ctx := context.Background()
	changes := make([]provider.Transition, len(transitionCases))
	before := make([]map[string]string, len(transitionCases))
	for i, c := range transitionCases {
		merchant, order := caseOrder(i)
		var sid string
		before[i], sid = r.put(t, merchant, order, c.sess)
		if c.otherSession {
			sid = "another-session"
		}
		changes[i] = c.change
		changes[i].Due, changes[i].Now, changes[i].StartStep = provider.Due{Merchant: merchant, OrderID: order, SessionID: sid}, caseNow, "{}"
		r.rdb.ZAdd(ctx, r.prefix+":{0}:sched:"+string(c.change.Schedule), zAt(caseNow, merchant+"\n"+order+"\n"+sid))
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	applied, errs := r.store.Transitions(ctx, changes)
	for i, c := range transitionCases {
		merchant, order := caseOrder(i)
		if errs[i] != nil {
			t.Errorf("%s: %v", c.name, errs[i])
			continue
		}
		w := writes(before[i], r.hash(t, merchant, order))
		if w != c.writes || applied[i] != (c.writes != "") {
			t.Errorf("%s: applied = %v and wrote %q, want %q", c.name, applied[i], w, c.writes)
		}
	}
	for _, sched := range []provider.Schedule{provider.SchedulePending, provider.ScheduleExpiry} {
		if n := r.rdb.ZCard(ctx, r.prefix+":{0}:sched:"+string(sched)).Val(); n != 0 {
			t.Errorf("%d entries are still in the %s schedule", n, sched)
		}
	}
}

// finishCases are finish.lua's: guid g1 finishes a refund of 10.00 with
// token "tok", and settles only while its record runs under that token
// and it holds the lock or a reservation.
var finishCases = []struct {
	name   string
	sess   *spec
	record []any // the guid record before (nil: none)
	guid   string
	writes string
}{
	{"the lock's holder settles", in(provider.PhasePurchased, lockedBy("g1")), running("tok"), "g1", "-op refunded=1000"},
	{"the reservation's holder settles", in(provider.PhasePurchased, reserving("g1", 1000)), running("tok"), "g1", "-r:g1 refunded=1000 reserved=0"},
	{"another guid holds the lock", in(provider.PhasePurchased, lockedBy("g2")), running("tok"), "g1", ""},
	{"another guid holds the reservation", in(provider.PhasePurchased, reserving("g2", 1000)), running("tok"), "g1", ""},
	{"a guid that holds nothing", in(provider.PhasePurchased), running("tok"), "g1", ""},
	{"the lock, settled first by the reconciler", in(provider.PhasePurchased, lockedBy("g1")), done, "g1", ""},
	{"the reservation, settled first by the reconciler", in(provider.PhasePurchased, reserving("g1", 1000)), done, "g1", ""},
	{"the guid taken by a retry with another token", in(provider.PhasePurchased, lockedBy("g1")), running("other"), "g1", ""},
	{"an empty guid", in(provider.PhasePurchased), nil, "", ""},
}

func running(token string) []any {
	f := idempotency.Record
	return []any{f.State, "run", f.Fingerprint, "fp", f.Token, token}
}

var done = func() []any {
	f := idempotency.Record
	return []any{f.State, "done", f.Fingerprint, "fp", f.Status, 200, f.Body, `{"first":true}`, f.Expires, 0}
}()

func TestFinishCases(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	for i, c := range finishCases {
		t.Run(c.name, func(t *testing.T) {
			merchant, order := caseOrder(i)
			before, _ := r.put(t, merchant, order, c.sess)
			if c.record != nil {
				r.rdb.HSet(ctx, r.guidKey(merchant, c.guid), c.record...)
			}
			reply, err := r.store.Finish(ctx, provider.FinishInput{
				Claim:  provider.Claim{Merchant: merchant, OrderID: order, GUID: c.guid, Token: "tok", Fingerprint: "fp"},
				Settle: &provider.Settlement{Refunded: 1000, Release: 1000}, Step: `{"guid":"g1"}`,
				Reply: provider.Reply{Status: 200, Body: []byte(`{"mine":true}`), Expires: caseNow.Add(time.Hour)}, TTL: time.Hour, Now: caseNow})
			if err != nil {
				t.Fatal(err)
			}
			r.checkFinishReply(t, merchant, c.guid, c.record, string(reply.Body))
			w := writes(before, r.hash(t, merchant, order))
			if w != c.writes {
				t.Errorf("wrote %q, want %q", w, c.writes)
			}
			// A settlement is recorded whole: the step, and the guid among
			// the order's settled ones; a refused one records neither.
			steps := r.rdb.LLen(ctx, r.historyKey(merchant, order)).Val()
			inSettled := r.rdb.SIsMember(ctx, r.settledKey(merchant, order), c.guid).Val()
			if settled := w != ""; (steps == 2) != settled || inSettled != settled {
				t.Errorf("%d steps, in the settled set %v; settled %v", steps, inSettled, settled)
			}
			// The order is kept for the retention after its latest change:
			// a settlement sets it, a finish that changes nothing leaves it.
			ttl := r.rdb.PTTL(ctx, r.sessionKey(merchant, order)).Val()
			if settled := w != ""; settled != (ttl > 0) {
				t.Errorf("the session's TTL is %s after a finish that settled: %v", ttl, settled)
			}
		})
	}
}

// checkFinishReply: a reply stored first stands, in Finish's answer and
// in the record; otherwise the request's own reply is stored, unless the
// guid is a retry's now (its record is left to it).
func (r *raw) checkFinishReply(t *testing.T, merchant, guid string, before []any, got string) {
	t.Helper()
	f := idempotency.Record
	rec := r.rdb.HGetAll(context.Background(), r.guidKey(merchant, guid)).Val()
	switch {
	case len(before) > 1 && before[1] == "done":
		if got != `{"first":true}` || rec[f.Body] != `{"first":true}` {
			t.Errorf("Finish answered %s, record %v: the reply stored first must stand", got, rec)
		}
	case len(before) > 5 && before[5] != "tok":
		if rec[f.State] != "run" || rec[f.Token] != before[5] {
			t.Errorf("a retry's running record was touched: %v", rec)
		}
	default:
		if got != `{"mine":true}` || rec[f.State] != "done" || rec[f.Body] != `{"mine":true}` || rec[f.Token] != "" {
			t.Errorf("Finish answered %s, record %v: want its own reply stored, no token left", got, rec)
		}
	}
}

func zAt(at time.Time, member string) redis.Z {
	return redis.Z{Score: float64(at.UnixMilli()), Member: member}
}

// TestBeginHandsBackEffectivePhase: the session Begin hands the service
// reads as begin.lua decided it, so an unpaid one past its expiry is
// EXPIRED in error bodies and history before the expiry job runs.
func TestBeginHandsBackEffectivePhase(t *testing.T) {
	r := mustRaw(t)
	for i, c := range []struct {
		name string
		sess *spec
		want provider.Phase
	}{
		{"waiting past expiry", in(provider.PhaseWaiting, pastExpiry), provider.PhaseExpired},
		{"waiting expiring now", in(provider.PhaseWaiting, expiringNow), provider.PhaseExpired},
		{"3-D Secure past expiry", in(provider.PhaseThreeDS, pastExpiry), provider.PhaseExpired},
		{"waiting in an hour", in(provider.PhaseWaiting), provider.PhaseWaiting},
		{"waiting with no expiry", in(provider.PhaseWaiting, noExpiry), provider.PhaseWaiting},
		{"paying past expiry", in(provider.PhasePaying, pastExpiry, paying("tok", "card")), provider.PhasePaying},
		{"authorised past expiry", in(provider.PhaseAuthorised, pastExpiry), provider.PhaseAuthorised},
	} {
		t.Run(c.name, func(t *testing.T) {
			merchant, order := caseOrder(1000 + i)
			r.put(t, merchant, order, c.sess)
			b, err := r.store.Begin(context.Background(), provider.BeginInput{
				Claim: provider.Claim{Merchant: merchant, OrderID: order, GUID: "g1", Token: "tok", Fingerprint: "fp"},
				Lease: time.Minute, Deadline: caseNow.Add(time.Minute),
				Ask: provider.Ask{Action: provider.ActionHistory, GUID: "g1", Now: caseNow},
			})
			if err != nil || b.Session == nil {
				t.Fatalf("Begin = %+v, %v", b, err)
			}
			if b.Session.Phase != c.want {
				t.Errorf("phase %s, want %s", b.Session.Phase, c.want)
			}
		})
	}
}

// TestStoredAgreesWithIdemCheck: Replayed reads a record with HMGET and
// idempotency.Stored, without a script; for every kind of record it must
// answer a replay exactly when idem_check would, with the same reply,
// and see a record exactly when idem_check does.
func TestStoredAgreesWithIdemCheck(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	ctx := context.Background()
	check := redis.NewScript(idempotency.Lua + `return idem_check(idem_read(KEYS[1]), ARGV[1])`)
	R := idempotency.Record
	for _, c := range []struct {
		name   string
		fields []any
	}{
		{"no record", nil},
		{"running, this request", []any{R.State, "run", R.Fingerprint, "fp", R.Token, "t1"}},
		{"running, another request", []any{R.State, "run", R.Fingerprint, "other", R.Token, "t1"}},
		{"finished, this request", []any{R.State, "done", R.Fingerprint, "fp", R.Status, "201", R.Body, `{"a":1}`, R.Expires, "1900000000000"}},
		{"finished, another request", []any{R.State, "done", R.Fingerprint, "other", R.Status, "200", R.Body, "{}", R.Expires, "1900000000000"}},
		{"finished, an empty body", []any{R.State, "done", R.Fingerprint, "fp", R.Status, "204", R.Body, "", R.Expires, "1900000000000"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := redistest.Prefix(t) + ":" + c.name
			if c.fields != nil {
				if err := rdb.HSet(ctx, key, c.fields...).Err(); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := check.Run(ctx, rdb, []string{key}, "fp").Slice()
			if err != nil && err != redis.Nil {
				t.Fatal(err)
			}
			want, _ := idempotency.Parse(raw)
			v, err := rdb.Do(ctx, redisstore.ReplayRead(key)...).Slice()
			if err != nil {
				t.Fatal(err)
			}
			got, present := idempotency.Stored(v, "fp")
			if present != (raw != nil) {
				t.Errorf("Stored sees a record: %v; idem_check: %v", present, raw)
			}
			if (got.Kind == idempotency.Replay) != (want.Kind == idempotency.Replay) || !reflect.DeepEqual(got, want) && want.Kind == idempotency.Replay {
				t.Errorf("Stored = %+v, idem_check = %+v", got, want)
			}
		})
	}
}
