package redisstore_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// The races and lost replies in this file were found by trying to break
// the money paths; each test shows the behaviour that closes one.

// TestAStalledRequestCannotFinishAnotherClaim: a purchase refused while
// the shopper was still paying holds its guid for the lease only. If the
// refused request stalls past that lease (a GC or VM pause) and Akinon's
// retry of the same guid is claimed meanwhile (the shopper has paid by
// then), the stalled request's Finish must not complete the retry's
// claim: only the holder of the claim's token finishes it. Otherwise the
// retry's approved capture would settle nothing and the order would stay
// held forever.
func TestAStalledRequestCannotFinishAnotherClaim(t *testing.T) {
	r := mustRaw(t)
	ctx := context.Background()
	r.mustWrite(t, "m1", "o1", spec{phase: provider.PhaseWaiting, typ: provider.Sale, expiresAt: time.Now().Add(time.Hour)})
	ask := func(token string, lease time.Duration) provider.BeginInput {
		now := time.Now()
		return provider.BeginInput{
			Claim: provider.Claim{Merchant: "m1", OrderID: "o1", GUID: "p1", Token: token, Fingerprint: "fp-p1"},
			Lease: lease, Deadline: now.Add(time.Hour), Ask: provider.Ask{Action: provider.ActionPurchase, GUID: "p1", Now: now},
		}
	}

	// 1. The first attempt is refused: the shopper has not paid yet.
	first, err := r.store.Begin(ctx, ask("tok-first", 50*time.Millisecond))
	if err != nil || first.Kind != provider.Refused || first.Refusal != provider.CodeSessionNotPaid {
		t.Fatalf("first Begin = %+v, %v", first, err)
	}
	// 2. The shopper pays; the refused request stalls past its lease.
	r.rdb.HSet(ctx, r.sessionKey("m1", "o1"), "phase", string(provider.PhaseAuthorised), "authorised", 10000)
	redistest.Eventually(t, 5*time.Second, "the refused request's lease to run out", func() bool {
		return r.rdb.Exists(ctx, r.guidKey("m1", "p1")).Val() == 0
	})
	// 3. Akinon retries the same guid: claimed, the order held, in doubt.
	retry, err := r.store.Begin(ctx, ask("tok-retry", time.Minute))
	if err != nil || retry.Kind != provider.Claimed {
		t.Fatalf("retry Begin = %+v, %v", retry, err)
	}
	// 4. The stalled first request wakes up and stores its refusal.
	if _, err := r.store.Finish(ctx, provider.FinishInput{
		Claim: provider.Claim{Merchant: "m1", OrderID: "o1", GUID: "p1", Token: "tok-first", Fingerprint: "fp-p1"},
		Reply: provider.Reply{Status: 422, Body: []byte(`{"error":"session_not_paid"}`), Expires: time.Now().Add(time.Hour)},
		TTL:   time.Hour, Now: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	// 5. The retry's capture was approved by the bank; it settles.
	got, err := r.store.Finish(ctx, provider.FinishInput{
		Claim:  provider.Claim{Merchant: "m1", OrderID: "o1", GUID: "p1", Token: "tok-retry", Fingerprint: "fp-p1"},
		Settle: &provider.Settlement{Phase: provider.PhasePurchased, Captured: 10000},
		Step:   provider.MarshalStep(provider.Step{GUID: "p1", Type: provider.ActionPurchase, StatusCode: provider.StatusResolved}),
		Reply:  provider.Reply{Status: 200, Body: []byte(`{"status":"RESOLVED"}`), Expires: time.Now().Add(time.Hour)},
		TTL:    time.Hour, Now: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}

	h := r.hash(t, "m1", "o1")
	if h["phase"] != string(provider.PhasePurchased) || h["captured"] != "10000" || h["op"] != "" {
		t.Errorf("the captured purchase is not recorded: phase %s, captured %s, op %q (the order is held forever)",
			h["phase"], h["captured"], h["op"])
	}
	if string(got.Body) != `{"status":"RESOLVED"}` {
		t.Errorf("the retry whose capture the bank approved is answered %s", got.Body)
	}
	if h["op"] != "" {
		ds, _ := r.store.Doubts(ctx)
		if len(ds) == 0 {
			t.Errorf("the order is held by %s with nothing in the doubt set: no one will ever release it", h["op"])
		}
	}
}

// hookStore is the Redis store with hooks run right after some of its
// calls, to place another request's step at an exact point of the
// reconciler's pass.
type hookStore struct {
	*redisstore.Store
	afterClaimDoubts func()
	afterOrder       func()
}

func (h *hookStore) ClaimDoubts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]provider.Doubt, error) {
	ds, err := h.Store.ClaimDoubts(ctx, now, lease, limit)
	if f := h.afterClaimDoubts; f != nil {
		h.afterClaimDoubts = nil
		f()
	}
	return ds, err
}

func (h *hookStore) Order(ctx context.Context, merchant, orderID string) (*provider.Session, error) {
	s, err := h.Store.Order(ctx, merchant, orderID)
	if f := h.afterOrder; f != nil {
		h.afterOrder = nil
		f()
	}
	return s, err
}

// TestTheReconcilerKeepsAThreeDSPaymentClaimedMeanwhile: the doubt entry
// of the shopper's payment is one member per session, shared by the card
// stage and the 3-D Secure stage. The reconciler claims the card stage's
// entry past its deadline; the late card request then settles it (a
// challenge) and the shopper at once submits the code, whose claim puts
// the same member back with a fresh deadline. The reconciler, which read
// the session between the two (THREEDS, not PAYING), drops the entry only
// if it is still the one it claimed (its score is the claim's proof), so
// the 3-D Secure payment keeps its entry and is settled if its request
// dies.
func TestTheReconcilerKeepsAThreeDSPaymentClaimedMeanwhile(t *testing.T) {
	w := mustLateChallenge(t)
	st, hs, svc, sid, card, res, now, ctx := w.st, w.hs, w.svc, w.sid, w.card, w.res, w.now, context.Background()
	// Right after the reconciler claimed the entry, the late card request
	// settles its challenge...
	hs.afterClaimDoubts = func() {
		_, err := st.SettlePayment(ctx, provider.PaymentSettlement{PaymentClaim: card, StartStep: "{}",
			Paid: &provider.Session{Phase: provider.PhaseThreeDS, Authorised: 10000, ChallengeID: res.ChallengeID, Detail: res.Detail}})
		if err != nil {
			t.Error(err)
		}
	}
	// ...and right after the reconciler read the session, the shopper's
	// 3-D Secure code is claimed and on its way to the bank.
	hs.afterOrder = func() {
		claimThreeDS(t, st, sid)
	}
	if _, err := svc.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}

	sess, err := st.Order(ctx, "m1", "o1")
	if err != nil || sess.Phase != provider.PhasePaying || sess.PayStage != provider.StageThreeDS {
		t.Fatalf("session = %+v, %v; want PAYING for the 3-D Secure stage", sess, err)
	}
	ds, err := st.Doubts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Kind != provider.DoubtPayment || ds[0].ID != sid {
		t.Errorf("the 3-D Secure payment at the bank is PAYING with doubt set %+v: nothing will ever settle it", ds)
	}
	// Its request dies; hours later the reconciler still has nothing to do.
	svc.SetClock(func() time.Time { return now.Add(3 * time.Hour) })
	if _, err := svc.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if sess, _ := st.Order(ctx, "m1", "o1"); sess.Phase == provider.PhasePaying {
		t.Errorf("three hours later the session is still PAYING")
	}
}

// mustPaidOrder starts order o1 of m, a sale of 100.00, and pays it with
// an approved card; it returns how the test makes a request on o1.
func mustPaidOrder(t *testing.T, svc *provider.Service, m *provider.Merchant) func(guid string) provider.Request {
	t.Helper()
	ctx := context.Background()
	req := func(guid string) provider.Request {
		return provider.Request{Merchant: m, GUID: guid, OrderID: "o1", Fingerprint: "fp-" + guid}
	}
	r, err := svc.StartSession(ctx, provider.StartInput{Request: req("s1"), Type: provider.Sale, Amount: 10000,
		Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.Session(ctx, decode(t, r)["session"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Pay(ctx, m, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"}); err != nil {
		t.Fatal(err)
	}
	return req
}

// mustPurchasedOrder is mustPaidOrder, then the purchase of it all (p1).
func mustPurchasedOrder(t *testing.T, svc *provider.Service, m *provider.Merchant) func(guid string) provider.Request {
	t.Helper()
	req := mustPaidOrder(t, svc, m)
	if r, err := svc.Purchase(context.Background(), provider.OperationInput{Request: req("p1")}); err != nil || decode(t, r)["status"] != "RESOLVED" {
		t.Fatalf("purchase: %s, %v", r.Body, err)
	}
	return req
}

// lateChallenge is a sale session whose card stage was claimed long ago
// and is past its deadline: its request is late, and the bank has raised
// a 3-D Secure challenge (res) the request has not stored yet.
type lateChallenge struct {
	st   *redisstore.Store
	hs   *hookStore
	bank *sandbox.Processor
	svc  *provider.Service
	sid  string
	card provider.PaymentClaim
	res  provider.Result
	now  time.Time
}

func mustLateChallenge(t *testing.T) *lateChallenge {
	t.Helper()
	srv := redistest.Shared(t)
	st := redisstore.New(srv.Client(t), redistest.Prefix(t), 1)
	hs := &hookStore{Store: st}
	bank := sandbox.New(srv.Client(t), sandbox.Options{Prefix: redistest.Prefix(t), PendingDelay: time.Second, ACSURL: "http://acs.test"})
	svc := gatewaytest.Service(hs, bank, provider.DefaultConfig())
	var sid string
	svc.SetRenderers(sessionIDOf(&sid))
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	ctx := context.Background()
	if _, err := svc.StartSession(ctx, provider.StartInput{Request: provider.Request{Merchant: m, GUID: "s1", OrderID: "o1", Fingerprint: "fp-s1"},
		Type: provider.Sale, Amount: 10000, Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	card := provider.PaymentClaim{SessionID: sid, Merchant: "m1", OrderID: "o1", Stage: provider.StageCard, Token: "tok-card",
		Lease: time.Minute, Deadline: now.Add(-time.Second), Now: now, Amount: 10000, Installment: 1, CardBIN: "400000", CardLast4: "3184"}
	if _, err := st.ClaimPayment(ctx, card); err != nil {
		t.Fatal(err)
	}
	res, err := bank.Authorise(ctx, provider.AuthoriseRequest{Reference: provider.PaymentReference(sid), Type: provider.Sale,
		Amount: 10000, Currency: "TRY", Installment: 1, Card: provider.Card{Number: sandbox.CardThreeDS, ExpMonth: 12, ExpYear: 2039, CVC: "123"},
		ReturnURL: "https://gw.example/pay/" + sid + "/return/attempt-1"})
	if err != nil || res.Outcome != provider.Challenge || res.Redirect == nil {
		t.Fatalf("authorise = %+v, %v", res, err)
	}
	res.ChallengeID = "attempt-1" // as the service names the attempt
	return &lateChallenge{st: st, hs: hs, bank: bank, svc: svc, sid: sid, card: card, res: res, now: now}
}

// lossyProxy passes a client's commands to Redis, and its replies back
// until drop is set: then a reply is swallowed and the connection cut, as
// when a network fails after the request got through.
type lossyProxy struct {
	ln       net.Listener
	drop     atomic.Bool
	dropOnce atomic.Bool // drop the next reply only
}

func startLossyProxy(tb testing.TB, target string) *lossyProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &lossyProxy{ln: ln}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() {
				defer c.Close()
				defer s.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 {
						if p.drop.Load() || p.dropOnce.CompareAndSwap(true, false) {
							return // the reply is lost; the connection drops
						}
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}

// TestARefundWhoseBankReplyIsLostIsNotDeclined: the bank's reply is lost
// after the bank acted. That is no answer, not "nothing was done": the
// gateway neither declines the refund nor releases its reservation; it
// answers outcome_unknown, a new guid cannot refund the same money, and
// the reconciler settles the refund from the bank's books.
func TestARefundWhoseBankReplyIsLostIsNotDeclined(t *testing.T) {
	srv := redistest.Shared(t)
	proxy := startLossyProxy(t, srv.Addr)
	// The bank's client as the gateway configures it (cmd/gateway/redis.go).
	books := redis.NewClient(&redis.Options{Addr: proxy.ln.Addr().String(), ReadTimeout: 3 * time.Second, MaxRetries: 1})
	t.Cleanup(func() { books.Close() })
	st := redisstore.New(srv.Client(t), redistest.Prefix(t), 1)
	bank := sandbox.New(books, sandbox.Options{Prefix: redistest.Prefix(t), PendingDelay: time.Second})
	cfg := provider.DefaultConfig()
	cfg.Backoff = time.Millisecond
	svc := gatewaytest.Service(st, bank, cfg)
	svc.SetRenderers(provider.Renderers{Start: echo, Operation: echo})
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	ctx := context.Background()
	req := mustPurchasedOrder(t, svc, m)

	// The bank's replies are lost while the refund is sent.
	proxy.drop.Store(true)
	_, err := svc.Refund(ctx, provider.OperationInput{Request: req("r1"), Amount: 4000, Currency: "TRY"})
	proxy.drop.Store(false)
	if provider.ErrorCode(err) != provider.CodeOutcomeUnknown {
		t.Fatalf("a refund whose bank reply was lost answered %v, want outcome_unknown", err)
	}
	sess, _ := st.Order(ctx, "m1", "o1")
	acct, _ := bank.Account(ctx, provider.PaymentReference(sess.ID))
	if acct.Refunded != 4000 {
		t.Fatalf("the bank refunded %s, want 40.00", acct.Refunded)
	}
	// A new guid for the rest is refused: the 40.00 in doubt still counts.
	r, err := svc.Refund(ctx, provider.OperationInput{Request: req("r2"), Amount: 6001, Currency: "TRY"})
	if err != nil || decode(t, r)["code"] != string(provider.CodeAmountExceedsBalance) {
		t.Fatalf("a new guid for more than is left beside the refund in doubt: %s, %v", r.Body, err)
	}
	svc.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
	if rep, err := svc.ReconcileOnce(ctx); err != nil || rep.Settled != 1 {
		t.Fatalf("reconcile = %+v, %v", rep, err)
	}
	after, _ := st.Order(ctx, "m1", "o1")
	if after.Refunded != 4000 || after.Reserved != 0 {
		t.Fatalf("after settling: refunded %s, reserved %s; the bank refunded 40.00", after.Refunded, after.Reserved)
	}
}

// TestTheReconcilerNeverSettlesANewerClaim: the reconciler claims the card
// stage's doubt entry past its deadline; before it reads the session, the
// late card request settles a challenge and the shopper submits the right
// code, whose claim is fresh. The reconciler finds a claim within its
// deadline and leaves it: it must not ask the bank about the
// authentication (which would close the reference before the shopper's
// request sends the code) nor reject the payment.
func TestTheReconcilerNeverSettlesANewerClaim(t *testing.T) {
	w := mustLateChallenge(t)
	st, hs, bank, svc, sid, card, res, ctx := w.st, w.hs, w.bank, w.svc, w.sid, w.card, w.res, context.Background()
	hs.afterClaimDoubts = func() {
		if _, err := st.SettlePayment(ctx, provider.PaymentSettlement{PaymentClaim: card, StartStep: "{}",
			Paid: &provider.Session{Phase: provider.PhaseThreeDS, Authorised: 10000, ChallengeID: res.ChallengeID, Detail: res.Detail}}); err != nil {
			t.Error(err)
		}
		claimThreeDS(t, st, sid)
	}
	if _, err := svc.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// The shopper's request, alive all along, brings the bank's return
	// for the right code now.
	auth, err := bank.Complete(ctx, provider.CompleteRequest{Reference: provider.PaymentReference(sid), Type: provider.Sale,
		Amount: 10000, Currency: "TRY", Installment: 1, Fields: answerACS(t, bank, res.Redirect, sandbox.ThreeDSCode)})
	if err != nil {
		t.Fatal(err)
	}
	if auth.Outcome != provider.Approved {
		t.Errorf("the right 3-D Secure code, sent by a request well within its deadline, is %s (%s)", auth.Outcome, auth.Detail)
	}
	if sess, _ := st.Order(ctx, "m1", "o1"); sess.Phase != provider.PhasePaying {
		t.Errorf("the reconciler settled a payment claimed after its pass began: %s %s (%s)", sess.Phase, sess.Rejection, sess.Detail)
	}
}

// answerACS answers the sandbox ACS's code page with code, as the
// shopper's browser does, and returns the signed fields it sends back.
func answerACS(t *testing.T, bank *sandbox.Processor, rd *provider.Redirect, code string) map[string]string {
	t.Helper()
	form := url.Values{"code": {code}}
	for _, f := range rd.Fields {
		form.Set(f.Name, f.Value)
	}
	req := httptest.NewRequest(http.MethodPost, "/acs/answer", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	bank.ACS().ServeHTTP(rec, req)
	fields := map[string]string{}
	for _, m := range hiddenRE.FindAllStringSubmatch(rec.Body.String(), -1) {
		fields[m[1]] = html.UnescapeString(m[2])
	}
	if rec.Code != http.StatusOK || fields["mac"] == "" {
		t.Fatalf("the ACS answered %d without its signed return:\n%s", rec.Code, rec.Body)
	}
	return fields
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// asyncRefunds is a bank whose refunds are asynchronous, as many
// acquirers' are: a refund is accepted as PENDING and completes later.
// The Processor interface allows it (Outcome Pending on any call).
type asyncRefunds struct{ *sandbox.Processor }

func (asyncRefunds) Refund(context.Context, provider.OperationRequest) (provider.Result, error) {
	return provider.Result{Outcome: provider.Pending, Code: "PENDING", Detail: "refund accepted, settles later"}, nil
}

func (a asyncRefunds) Inquire(ctx context.Context, req provider.InquiryRequest) (provider.Inquiry, error) {
	if req.Operation == provider.OpRefund {
		return provider.Inquiry{Received: true, Result: provider.Result{Outcome: provider.Pending, Code: "PENDING", Detail: "refund accepted, settles later"}}, nil
	}
	return a.Processor.Inquire(ctx, req)
}

// TestAnUndecidedRefundKeepsItsReservation: a processor that answers a
// refund with PENDING has neither refused nor made it. The refund is not
// settled: its reservation stays (a second refund of the same money is
// refused), Akinon is told outcome_unknown, and the reconciler asks again
// later instead of settling it.
func TestAnUndecidedRefundKeepsItsReservation(t *testing.T) {
	srv := redistest.Shared(t)
	st := redisstore.New(srv.Client(t), redistest.Prefix(t), 1)
	bank := asyncRefunds{sandbox.New(srv.Client(t), sandbox.Options{Prefix: redistest.Prefix(t), PendingDelay: time.Second})}
	svc := gatewaytest.Service(st, bank, provider.DefaultConfig())
	svc.SetRenderers(provider.Renderers{Start: echo, Operation: echo})
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	ctx := context.Background()
	req := mustPurchasedOrder(t, svc, m)
	_, err := svc.Refund(ctx, provider.OperationInput{Request: req("r1"), Amount: 10000, Currency: "TRY"})
	if provider.ErrorCode(err) != provider.CodeOutcomeUnknown {
		t.Fatalf("a refund the processor has not decided answered %v, want outcome_unknown", err)
	}
	ds, _ := st.Doubts(ctx)
	after, _ := st.Order(ctx, "m1", "o1")
	if after.Reserved == 0 && len(ds) == 0 {
		t.Errorf("a refund the processor accepted as PENDING left no reservation and nothing to follow it up")
	}
	r, err := svc.Refund(ctx, provider.OperationInput{Request: req("r2"), Amount: 10000, Currency: "TRY"})
	if err != nil {
		t.Fatal(err)
	}
	if decode(t, r)["code"] != string(provider.CodeAmountExceedsBalance) {
		t.Errorf("a second refund of the whole 100.00 while the first is pending at the processor: %s", r.Body)
	}
	svc.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
	if rep, err := svc.ReconcileOnce(ctx); err != nil || rep.Postponed != 1 {
		t.Fatalf("reconcile = %+v, %v; want the undecided refund asked again later", rep, err)
	}
	if after, _ := st.Order(ctx, "m1", "o1"); after.Reserved != 10000 {
		t.Fatalf("after the reconciler asked: reserved %s, want 100.00", after.Reserved)
	}
}

// TestAGuidRetriedAfterItsRecordExpiredRunsNoMore: a guid's record
// expires with IDEMPOTENCY_TTL, but its processor reference is derived
// from the guid: the bank would answer a retry with its first answer,
// and counting that again would refund twice on paper. A settled guid
// stays on its order, so the retry is refused (idempotency_key_reused)
// and the rest of the money can still be refunded.
func TestAGuidRetriedAfterItsRecordExpiredRunsNoMore(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	st := redisstore.New(srv.Client(t), prefix, 1)
	bank := sandbox.New(srv.Client(t), sandbox.Options{Prefix: redistest.Prefix(t), PendingDelay: time.Second})
	cfg := provider.DefaultConfig()
	cfg.IdempotencyTTL = 200 * time.Millisecond // 24h in production: the same, a day later
	svc := gatewaytest.Service(st, bank, cfg)
	svc.SetRenderers(provider.Renderers{Start: echo, Operation: echo})
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	ctx := context.Background()
	req := mustPurchasedOrder(t, svc, m)
	refund := func(guid string, amount provider.Money) map[string]any {
		r, err := svc.Refund(ctx, provider.OperationInput{Request: req(guid), Amount: amount, Currency: "TRY"})
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, r)
	}
	refund("r1", 4000)
	rdb := srv.Client(t)
	redistest.Eventually(t, 5*time.Second, "the refund's guid record to expire", func() bool {
		keys, _ := rdb.Keys(ctx, prefix+":*:i:m1:r1").Result()
		return len(keys) == 0
	})
	got := refund("r1", 4000) // retried after its record expired
	if got["code"] != string(provider.CodeIdempotencyReused) || got["field"] != "guid" ||
		!strings.Contains(got["message"].(string), "already used on this order and its reply has expired") {
		t.Errorf("the same refund retried after its record expired: %v; want idempotency_key_reused on guid, saying the reply has expired", got)
	}

	after, _ := st.Order(ctx, "m1", "o1")
	acct, _ := bank.Account(ctx, provider.PaymentReference(after.ID))
	if after.Refunded != acct.Refunded {
		t.Errorf("one refund of 40.00, retried: the gateway recorded %s refunded, the bank %s", after.Refunded, acct.Refunded)
	}
	if got := refund("r2", 6000); got["status"] != "RESOLVED" {
		t.Errorf("refunding the 60.00 the bank still holds: %v", got)
	}
}

// lossyService is a service whose store's client goes through a lossy
// proxy, configured as the gateway configures it (cmd/gateway/redis.go:
// MaxRetries 1), with the bank on a client of its own.
func lossyService(t *testing.T) (*provider.Service, *redisstore.Store, *sandbox.Processor, *lossyProxy, *provider.Merchant) {
	t.Helper()
	srv := redistest.Shared(t)
	proxy := startLossyProxy(t, srv.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.ln.Addr().String(), ReadTimeout: 3 * time.Second, MaxRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	prefix := redistest.Prefix(t)
	st := redisstore.New(rdb, prefix, 1)
	bank := sandbox.New(srv.Client(t), sandbox.Options{Prefix: prefix, PendingDelay: time.Second})
	svc := gatewaytest.Service(st, bank, provider.DefaultConfig())
	svc.SetRenderers(provider.Renderers{Start: echo, Operation: echo})
	return svc, st, bank, proxy, &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
}

// TestALostBeginReplyIsTheSameClaim: Begin's script ran, its reply was
// lost, and go-redis sent the script again (MaxRetries 1). The second run
// finds the guid claimed by this very request's token and answers as the
// first did, claiming and reserving nothing twice: the purchase goes on.
func TestALostBeginReplyIsTheSameClaim(t *testing.T) {
	svc, st, bank, proxy, m := lossyService(t)
	ctx := context.Background()
	req := mustPaidOrder(t, svc, m)

	proxy.dropOnce.Store(true) // Begin's reply is lost
	_, err := svc.Purchase(ctx, provider.OperationInput{Request: req("p1")})
	t.Logf("the purchase answered: %v", err)
	if pe := (*provider.Error)(nil); errors.As(err, &pe) && pe.Code == provider.CodeRequestInProgress {
		t.Errorf("a purchase that reached nothing answers %s: nothing else holds its guid", pe.Code)
	}
	// Akinon retries the same guid; the reconciler runs once the deadline
	// has passed; Akinon retries again.
	svc.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
	if _, err := svc.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := svc.Purchase(ctx, provider.OperationInput{Request: req("p1")})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := st.Order(ctx, "m1", "o1")
	acct, _ := bank.Account(ctx, provider.PaymentReference(after.ID))
	if decode(t, r)["status"] != "RESOLVED" || after.Phase != provider.PhasePurchased {
		t.Errorf("the purchase, retried with its guid, answers %s; the session is %s, the bank captured %s", r.Body, after.Phase, acct.Captured)
	}
}

// TestALostClaimPaymentReplyIsTheSameClaim: ClaimPayment's script ran
// (PAYING, in doubt), its reply was lost, and go-redis sent it again: the
// second run finds PAYING held by this request's token and answers as the
// first did, so the card goes to the bank and the payment is approved.
func TestALostClaimPaymentReplyIsTheSameClaim(t *testing.T) {
	svc, st, _, proxy, m := lossyService(t)
	ctx := context.Background()
	r, err := svc.StartSession(ctx, provider.StartInput{Request: provider.Request{Merchant: m, GUID: "s1", OrderID: "o1", Fingerprint: "fp-s1"},
		Type: provider.Sale, Amount: 10000, Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.Session(ctx, decode(t, r)["session"].(string))
	if err != nil {
		t.Fatal(err)
	}
	proxy.dropOnce.Store(true) // ClaimPayment's reply is lost
	v, err := svc.Pay(ctx, m, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"})
	t.Logf("the card form answered page %d, %v", v.State, err)
	svc.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
	if _, err := svc.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := st.Order(ctx, "m1", "o1")
	if after.Phase != provider.PhaseAuthorised {
		t.Errorf("a good card submitted once ends %s %s (%s)", after.Phase, after.Rejection, after.Detail)
	}
}

// claimThreeDS claims the 3-D Secure stage of order m1/o1's payment, as
// the shopper's code arriving does.
func claimThreeDS(t *testing.T, st *redisstore.Store, sid string) {
	t.Helper()
	n := time.Now()
	if _, err := st.ClaimPayment(context.Background(), provider.PaymentClaim{SessionID: sid, Merchant: "m1", OrderID: "o1",
		Stage: provider.StageThreeDS, Token: "tok-3ds", Lease: time.Minute, Deadline: n.Add(time.Hour), Now: n}); err != nil {
		t.Error(err)
	}
}

// TestReplaysOnTwoReplicasAtOnce: two replicas, each with its own memory
// of finished guids, send one refund guid sixteen times at once, four
// times over, each asking Replayed first as the HTTP side does. The bank
// refunds once, every 200 is the first answer's bytes (the renderer
// numbers each answer it makes, so a second run would show), and once
// both replicas have seen the guid finished, Replayed answers every call.
func TestReplaysOnTwoReplicasAtOnce(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	bank := sandbox.New(srv.Client(t), sandbox.Options{Prefix: prefix})
	var made atomic.Int64
	var sid string
	render := func(provider.Answer) provider.Reply {
		return provider.Reply{Status: 200, Body: []byte(`{"answer":` + strconv.FormatInt(made.Add(1), 10) + `}`)}
	}
	replicas := make([]*provider.Service, 2)
	for i := range replicas {
		svc := gatewaytest.Service(redisstore.New(srv.Client(t), prefix, 1), bank, provider.DefaultConfig())
		svc.SetRenderers(provider.Renderers{Operation: render, Start: func(a provider.Answer) provider.Reply {
			sid = a.Session.ID
			return render(a)
		}})
		replicas[i] = svc
	}
	ctx := context.Background()
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	req := func(guid, fp string) provider.Request {
		return provider.Request{Merchant: m, GUID: guid, OrderID: "o1", Fingerprint: fp}
	}
	if _, err := replicas[0].StartSession(ctx, provider.StartInput{Request: req("s1", "fp-s1"), Type: provider.Sale, Amount: 10000,
		Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"}); err != nil {
		t.Fatal(err)
	}
	sess, err := replicas[0].Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replicas[0].Pay(ctx, m, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"}); err != nil {
		t.Fatal(err)
	}
	if _, err := replicas[1].Purchase(ctx, provider.OperationInput{Request: req("p1", "fp-p1")}); err != nil {
		t.Fatal(err)
	}

	refund := provider.OperationInput{Request: req("r1", "fp-r1"), Amount: 1000, Currency: "TRY"}
	var mu sync.Mutex
	bodies := map[string]int{}
	var probed atomic.Int64 // answered by Replayed in the last two rounds
	for round := range 4 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 16 {
			svc := replicas[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, ok, err := svc.Replayed(ctx, refund.Request)
				if ok && round >= 2 {
					probed.Add(1)
				}
				if err == nil && !ok {
					r, err = svc.Refund(ctx, refund)
				}
				var pe *provider.Error
				if errors.As(err, &pe) && pe.Code == provider.CodeRequestInProgress {
					return
				}
				if err != nil || r.Status != 200 {
					t.Errorf("round %d: %d %s, %v", round, r.Status, r.Body, err)
					return
				}
				mu.Lock()
				bodies[string(r.Body)]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
	}
	if len(bodies) != 1 {
		t.Errorf("the refund was answered with %d different bodies: %v", len(bodies), bodies)
	}
	if n := bank.Effects("Refund"); n != 1 {
		t.Errorf("the bank refunded %d times", n)
	}
	// By the third round both replicas have seen the guid finished.
	if n := probed.Load(); n != 32 {
		t.Errorf("%d of the last two rounds' 32 calls were answered by Replayed, want all", n)
	}
	for i, svc := range replicas {
		r, ok, err := svc.Replayed(ctx, refund.Request)
		if err != nil || !ok || bodies[string(r.Body)] == 0 {
			t.Errorf("replica %d afterwards: %s, %v, %v; want the one answer replayed", i, r.Body, ok, err)
		}
	}
}
