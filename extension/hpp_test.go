package extension_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// returnHash is the contract's return-url hash, computed here from its
// words alone: base64(HMAC-SHA512(key, salt|orderId|sessionId|
// transactionId|amount|installment|currency|status|subStatus)).
func returnHash(key string, f map[string]string) string {
	msg := strings.Join([]string{f["salt"], f["orderId"], f["sessionId"], f["transactionId"], f["amount"],
		f["installment"], f["currency"], f["status"], f["subStatus"]}, "|")
	mac := hmac.New(sha512.New, []byte(key))
	mac.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

var saltRE = regexp.MustCompile(`^[A-Za-z0-9]{10}$`)

// checkReturn checks the return POST's fields: all there, the salt well
// formed and the hash right.
func checkReturn(tb testing.TB, action string, f map[string]string, want map[string]string) {
	tb.Helper()
	if action != returnURL {
		tb.Errorf("the return form posts to %q, want %q", action, returnURL)
	}
	for _, k := range []string{"salt", "orderId", "sessionId", "transactionId", "amount", "installment", "currency", "status", "subStatus", "hash"} {
		if f[k] == "" {
			tb.Errorf("return field %s is missing: %v", k, f)
		}
	}
	if len(f) != 10 {
		tb.Errorf("return form has %d fields, want exactly the contract's 10: %v", len(f), f)
	}
	if !saltRE.MatchString(f["salt"]) {
		tb.Errorf("salt %q is not 10 of [A-Za-z0-9]", f["salt"])
	}
	if got := returnHash(testHashKey, f); !hmac.Equal([]byte(got), []byte(f["hash"])) {
		tb.Errorf("hash %q does not verify; computed %q over %v", f["hash"], got, f)
	}
	for k, v := range want {
		if f[k] != v {
			tb.Errorf("return field %s = %q, want %q", k, f[k], v)
		}
	}
}

func TestWholePaymentThroughTheHostedPage(t *testing.T) {
	g := mustGateway(t)
	const order = "order-1001"

	// Akinon starts the session.
	r := g.call(t, "/start-session", body(startBody(order, "start-"+order, "100.00")), withHeader("x-akinon-request-id", "req-start-1"))
	if r.Status != http.StatusOK {
		t.Fatalf("start-session: %s", r)
	}
	if got := r.Header.Get("x-akinon-request-id"); got != "req-start-1" {
		t.Errorf("request id echoed as %q", got)
	}
	if r.Header.Get("Idempotency-Expires") == "" || r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("a first answer: Idempotency-Expires %q, Idempotent-Replayed %q", r.Header.Get("Idempotency-Expires"), r.Header.Get("Idempotent-Replayed"))
	}
	var s started
	mustJSON(t, r, &s)
	if s.Type != "SALE" || s.RedirectMethod != "GET" || s.SessionID == "" || s.TransactionID == "" ||
		s.RedirectURL != g.URL+"/pay/"+s.SessionID {
		t.Fatalf("start-session answer: %+v", s)
	}

	// The shopper opens the page and pays.
	b := newBrowser(t)
	page := b.get(t, s.RedirectURL)
	if page.Status != http.StatusOK {
		t.Fatalf("GET %s: %s", s.RedirectURL, page)
	}
	for _, want := range []string{`lang="tr"`, `100,00 TRY`, `name="cardHolder"`, `name="cardNumber"`, `name="expiry"`,
		`name="cvc"`, `name="installment"`, `name="_csrf"`} {
		if !bytes.Contains(page.Body, []byte(want)) {
			t.Errorf("the card form lacks %s", want)
		}
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	u, _ := url.Parse(g.URL + "/pay/")
	if len(b.c.Jar.Cookies(u)) == 0 {
		t.Errorf("the page set no anti-forgery cookie")
	}
	c := cardOf(sandbox.CardApproved)
	done := b.post(t, s.RedirectURL, c.form(hidden(page.Body)["_csrf"]))
	action, fields := returned(t, done)
	checkReturn(t, action, fields, map[string]string{"orderId": order, "sessionId": s.SessionID, "transactionId": s.TransactionID,
		"amount": "100.00", "installment": "1", "currency": "TRY", "status": "RESOLVED", "subStatus": "RESOLVED"})
	if bytes.Contains(done.Body, []byte(c.Number)) || bytes.Contains(done.Body, []byte(c.Expiry)) {
		t.Errorf("the return page shows card data")
	}
	// A tampered field no longer verifies: the check above is not vacuous.
	tampered := map[string]string{}
	for k, v := range fields {
		tampered[k] = v
	}
	tampered["amount"] = "1.00"
	if returnHash(testHashKey, tampered) == fields["hash"] {
		t.Fatalf("the hash does not cover the amount")
	}
	// Looking again shows the same outcome under a new salt.
	_, again := returned(t, b.get(t, s.RedirectURL))
	if again["salt"] == fields["salt"] {
		t.Errorf("the salt was reused: %s", again["salt"])
	}
	checkReturn(t, returnURL, again, map[string]string{"status": "RESOLVED", "amount": "100.00"})

	// Akinon confirms, refunds part, and reads the history.
	p := g.mustOperate(t, "/purchase", body(opBody(order, "purchase-"+order)), "RESOLVED")
	if p.SubStatus != "RESOLVED" || p.TransactionID == "" || p.TransactionID == s.TransactionID {
		t.Errorf("purchase answer: %+v", p)
	}
	g.mustOperate(t, "/refund", body(refundBody(order, "refund-"+order, "40.00")), "RESOLVED")
	h, raw := g.mustHistory(t, order)
	if h.LastAction != "REFUND" || h.Status != "RESOLVED" || h.Substatus != "RESOLVED" || h.Balance != "60.00" || h.Currency != "TRY" {
		t.Errorf("history top: %+v", h)
	}
	var types []string
	for _, st := range h.Steps {
		types = append(types, st.Type+"/"+st.StatusCode)
	}
	if strings.Join(types, ",") != "START/RESOLVED,PURCHASE/RESOLVED,REFUND/RESOLVED" {
		t.Errorf("history steps: %v", types)
	}
	golden(t, "history_whole_payment.json", raw.Body)

	for method, want := range map[string]int{"Authorise": 1, "Capture": 1, "Refund": 1, "Void": 0} {
		if n := g.bank.Calls(method); n != want {
			t.Errorf("processor %s called %d times, want %d", method, n, want)
		}
	}
}

// TestCardOutcomes pays with each of the sandbox's cards and follows the
// order through purchase and refund.
func TestCardOutcomes(t *testing.T) {
	g := mustGateway(t)
	tests := []struct {
		card      string
		status    string // of the payment, in the return POST
		subStatus string
		subSteps  int    // processor attempts in the START step
		purchase  string // "" when the order cannot be purchased
		refund    string // "" when not tried
	}{
		{sandbox.CardApproved, "RESOLVED", "RESOLVED", 1, "RESOLVED", "RESOLVED"},
		{sandbox.CardInstallments, "RESOLVED", "RESOLVED", 1, "RESOLVED", "RESOLVED"},
		{sandbox.CardDeclined, "REJECTED", "PROCESSING_ERROR", 1, "", ""},
		{sandbox.CardInsufficient, "REJECTED", "PROCESSING_ERROR", 1, "", ""},
		{sandbox.CardFraud, "REJECTED", "RISKY", 1, "", ""},
		{sandbox.CardPendingOK, "PENDING", "PAYMENT_WAITING", 1, "", ""},
		{sandbox.CardPendingRisky, "PENDING", "PAYMENT_WAITING", 1, "", ""},
		{sandbox.CardTransient, "RESOLVED", "RESOLVED", 3, "RESOLVED", "RESOLVED"},
		{sandbox.CardCaptureFails, "RESOLVED", "RESOLVED", 1, "REJECTED", ""},
		{sandbox.CardRefundFails, "RESOLVED", "RESOLVED", 1, "RESOLVED", "REJECTED"},
		{"5105105105105100", "RESOLVED", "RESOLVED", 1, "RESOLVED", "RESOLVED"},
	}
	for _, tt := range tests {
		t.Run(tt.card, func(t *testing.T) {
			order := "order-card-" + tt.card
			s := g.mustStart(t, order)
			action, f := returned(t, newBrowser(t).pay(t, s.RedirectURL, cardOf(tt.card)))
			checkReturn(t, action, f, map[string]string{"status": tt.status, "subStatus": tt.subStatus})

			h, _ := g.mustHistory(t, order)
			if st := h.Steps[0]; st.Type != "START" || st.StatusCode != tt.status || st.SubStatusCode != tt.subStatus || len(st.SubSteps) != tt.subSteps {
				t.Fatalf("START step = %+v, want %s/%s with %d sub-steps", st, tt.status, tt.subStatus, tt.subSteps)
			}
			if tt.subSteps == 3 {
				for i, want := range []string{"TRANSIENT_ERROR", "TRANSIENT_ERROR", "00"} {
					if got := h.Steps[0].SubSteps[i].StatusCode; got != want {
						t.Errorf("sub-step %d = %s, want %s", i, got, want)
					}
				}
			}

			r := g.call(t, "/purchase", body(opBody(order, "purchase-"+order)))
			if tt.purchase == "" {
				if r.Status != http.StatusUnprocessableEntity {
					t.Fatalf("purchase of a %s payment: %s", tt.status, r)
				}
				return
			}
			var op operation
			mustJSON(t, r, &op)
			if r.Status != http.StatusOK || op.Status != tt.purchase {
				t.Fatalf("purchase: %s, want %s", r, tt.purchase)
			}
			if tt.refund == "" {
				return
			}
			g.mustOperate(t, "/refund", body(refundBody(order, "refund-"+order, "25.00")), tt.refund)
			h, _ = g.mustHistory(t, order)
			want := json.Number("75.00")
			if tt.refund != "RESOLVED" {
				want = "100.00"
			}
			if h.Balance != want {
				t.Errorf("balance after a %s refund = %s, want %s", tt.refund, h.Balance, want)
			}
		})
	}
}

func TestThreeRefusedFormsReject(t *testing.T) {
	g := mustGateway(t)
	s := g.mustStart(t, "order-tries")
	b := newBrowser(t)
	bad := cardOf("4242424242424241") // fails Luhn
	for try := 1; try <= 3; try++ {
		page := b.get(t, s.RedirectURL)
		r := b.post(t, s.RedirectURL, bad.form(hidden(page.Body)["_csrf"]))
		if try < 3 {
			if r.Status != http.StatusUnprocessableEntity || !bytes.Contains(r.Body, []byte(`id="err-cardNumber"`)) {
				t.Fatalf("try %d: %d\n%s", try, r.Status, r.Body)
			}
			if want := "Kalan deneme hakkı: " + string(rune('0'+3-try)); !bytes.Contains(r.Body, []byte(want)) {
				t.Errorf("try %d: the page does not say %q", try, want)
			}
			if bytes.Contains(r.Body, []byte(bad.Number)) {
				t.Errorf("try %d: the refused number is shown back", try)
			}
			continue
		}
		action, f := returned(t, r)
		checkReturn(t, action, f, map[string]string{"status": "REJECTED", "subStatus": "RISKY"})
	}
	if n := g.bank.Calls("Authorise"); n != 0 {
		t.Errorf("refused forms reached the processor %d times", n)
	}
	// The shopper cannot try a fourth time, even with a good card.
	page := b.get(t, s.RedirectURL)
	_, f := returned(t, page)
	if f["subStatus"] != "RISKY" {
		t.Errorf("after three refusals the page says %v", f)
	}
	if r := g.call(t, "/purchase", body(opBody("order-tries", "p-tries"))); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("purchase of a RISKY session: %s", r)
	}
	h, _ := g.mustHistory(t, "order-tries")
	if h.Status != "REJECTED" || h.Substatus != "RISKY" {
		t.Errorf("history: %+v", h)
	}
}

func TestInstallmentsWithInterest(t *testing.T) {
	g := mustGateway(t, withRates(map[int]int{1: 0, 3: 150, 6: 300}))
	s := g.mustStart(t, "order-inst")
	b := newBrowser(t)
	page := b.get(t, s.RedirectURL)
	for n, offered := range map[string]bool{"1": true, "3": true, "6": true, "2": false, "9": false, "12": false} {
		if got := bytes.Contains(page.Body, []byte(`<option value="`+n+`">`)); got != offered {
			t.Errorf("installment %s offered = %v, want %v", n, got, offered)
		}
	}
	if !bytes.Contains(page.Body, []byte("101,50 TRY")) {
		t.Errorf("the 3-installment choice does not show its total 101,50 TRY")
	}

	// A card whose BIN cannot pay in installments is refused on the form.
	c := cardOf(sandbox.CardApproved)
	c.Installment = "3"
	r := b.post(t, s.RedirectURL, c.form(hidden(page.Body)["_csrf"]))
	if r.Status != http.StatusUnprocessableEntity || !bytes.Contains(r.Body, []byte(`id="err-installment"`)) {
		t.Fatalf("installments on a card without them: %d\n%s", r.Status, r.Body)
	}

	c = cardOf(sandbox.CardInstallments)
	c.Installment = "3"
	page = b.get(t, s.RedirectURL)
	action, f := returned(t, b.post(t, s.RedirectURL, c.form(hidden(page.Body)["_csrf"])))
	checkReturn(t, action, f, map[string]string{"amount": "101.50", "installment": "3", "status": "RESOLVED"})

	g.mustOperate(t, "/purchase", body(opBody("order-inst", "p-inst")), "RESOLVED")
	h, _ := g.mustHistory(t, "order-inst")
	if h.Balance != "101.50" {
		t.Fatalf("balance = %s, want the interest included: 101.50", h.Balance)
	}
	if r := g.call(t, "/refund", body(refundBody("order-inst", "r-over", "101.51"))); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("refund above the paid amount: %s", r)
	}
	g.mustOperate(t, "/refund", body(refundBody("order-inst", "r-all", "101.50")), "RESOLVED")
	if h, _ := g.mustHistory(t, "order-inst"); h.Balance != "0.00" {
		t.Fatalf("balance after refunding everything = %s", h.Balance)
	}

	// Other currencies get no installment choice.
	usd := g.mustStart(t, "order-usd", set("currency", "USD"))
	page = newBrowser(t).get(t, usd.RedirectURL)
	if bytes.Contains(page.Body, []byte(`<select`)) || hidden(page.Body)["installment"] != "1" {
		t.Errorf("a USD session offers installments")
	}
}

func TestExpiredSession(t *testing.T) {
	g := mustGateway(t, withSessionTTL(15*time.Minute))
	s := g.mustStart(t, "order-exp")
	b := newBrowser(t)
	page := b.get(t, s.RedirectURL)
	csrf := hidden(page.Body)["_csrf"]

	g.clock.Add(15 * time.Minute)
	gone := b.get(t, s.RedirectURL)
	if gone.Status != http.StatusGone || !bytes.Contains(gone.Body, []byte(`id="message"`)) {
		t.Fatalf("an expired session's page: %d\n%s", gone.Status, gone.Body)
	}
	// The form loaded before the expiry cannot pay either.
	if r := b.post(t, s.RedirectURL, cardOf(sandbox.CardApproved).form(csrf)); r.Status != http.StatusGone {
		t.Fatalf("paying an expired session: %d", r.Status)
	}
	if n := g.bank.Calls("Authorise"); n != 0 {
		t.Fatalf("an expired session reached the processor")
	}
	var e errorBody
	r := g.call(t, "/purchase", body(opBody("order-exp", "p-exp")))
	mustJSON(t, r, &e)
	// Past its expiry the session reads as failed at once, before the
	// expiry job has recorded anything.
	if r.Status != http.StatusUnprocessableEntity || e.Errors[0].Code != "session_expired" ||
		e.Status != "REJECTED" || e.SubStatus != "PROCESSING_ERROR" {
		t.Fatalf("purchase of an expired session: %s", r)
	}
	if h, _ := g.mustHistory(t, "order-exp"); h.Status != "REJECTED" || h.Substatus != "PROCESSING_ERROR" {
		t.Fatalf("history of an expired session before the job: %+v", h)
	}
	// Once the expiry job has recorded it, the session still reads as failed.
	if _, err := g.svc.RunJobsOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	r = g.call(t, "/purchase", body(opBody("order-exp", "p-exp-2")))
	mustJSON(t, r, &e)
	if r.Status != http.StatusUnprocessableEntity || e.Errors[0].Code != "session_expired" ||
		e.Status != "REJECTED" || e.SubStatus != "PROCESSING_ERROR" {
		t.Fatalf("purchase of an expired session after the expiry job: %s", r)
	}
	if h, _ := g.mustHistory(t, "order-exp"); h.Status != "REJECTED" {
		t.Fatalf("history of an expired session: %+v", h)
	}
	// A new session for the order can be started and paid.
	again := g.mustStart(t, "order-exp", set("guid", "start-again"))
	action, f := returned(t, newBrowser(t).pay(t, again.RedirectURL, cardOf(sandbox.CardApproved)))
	checkReturn(t, action, f, map[string]string{"status": "RESOLVED", "sessionId": again.SessionID})
}

func TestReplacedSessionIsGone(t *testing.T) {
	g := mustGateway(t)
	first := g.mustStart(t, "order-rep")
	second := g.mustStart(t, "order-rep", set("guid", "start-second"))
	if first.SessionID == second.SessionID {
		t.Fatalf("a new start-session kept the session id")
	}
	if r := newBrowser(t).get(t, first.RedirectURL); r.Status != http.StatusGone {
		t.Fatalf("the replaced session's page: %d", r.Status)
	}
	b := newBrowser(t)
	action, f := returned(t, b.pay(t, second.RedirectURL, cardOf(sandbox.CardApproved)))
	checkReturn(t, action, f, map[string]string{"sessionId": second.SessionID})
	h, _ := g.mustHistory(t, "order-rep")
	if len(h.Steps) != 2 || h.Steps[0].StatusCode != "REJECTED" || h.Steps[1].StatusCode != "RESOLVED" {
		t.Fatalf("history of a replaced session: %+v", h.Steps)
	}
	// Paid: a third session cannot be started.
	r := g.call(t, "/start-session", body(startBody("order-rep", "start-third", "100.00")))
	var e errorBody
	mustJSON(t, r, &e)
	if r.Status != http.StatusUnprocessableEntity || e.Errors[0].Code != "order_already_paid" {
		t.Fatalf("start-session on a paid order: %s", r)
	}
}

func TestDoubleSubmitChargesOnce(t *testing.T) {
	// Each form is sent twice: both answers are the one outcome, from one
	// call to the bank.
	for _, tt := range []struct {
		name, order, method string
		form                func(t *testing.T, g *gateway, b *browser, redirect string) (to string, form url.Values)
	}{
		{"one after the other", "order-dbl", "Authorise", func(t *testing.T, _ *gateway, b *browser, redirect string) (string, url.Values) {
			return redirect, b.cardForm(t, redirect, cardOf(sandbox.CardApproved))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGateway(t)
			s := g.mustStart(t, tt.order)
			b := newBrowser(t)
			to, form := tt.form(t, g, b, s.RedirectURL)
			_, first := returned(t, b.post(t, to, form))
			_, second := returned(t, b.post(t, to, form))
			if first["status"] != "RESOLVED" || second["status"] != "RESOLVED" || first["transactionId"] != second["transactionId"] {
				t.Fatalf("two submits: %v then %v", first, second)
			}
			g.mustCallBankOnce(t, tt.method)
		})
	}
	t.Run("while the first is at the processor", func(t *testing.T) {
		g := mustGateway(t)
		s := g.mustStart(t, "order-dbl")
		b := newBrowser(t)
		form := b.cardForm(t, s.RedirectURL, cardOf(sandbox.CardApproved))
		entered, release := g.bank.hold(t, "Authorise")
		firstDone := make(chan *response, 1)
		go func() { firstDone <- b.post(t, s.RedirectURL, form) }()
		mustReachBank(t, entered, "the first submit")
		second := b.post(t, s.RedirectURL, form)
		if second.Status != http.StatusOK || second.Header.Get("Refresh") == "" || bytes.Contains(second.Body, []byte(`id="return"`)) {
			t.Fatalf("the second submit while the first runs: %d %v\n%s", second.Status, second.Header, second.Body)
		}
		release()
		_, f := returned(t, <-firstDone)
		if f["status"] != "RESOLVED" {
			t.Fatalf("the first submit: %v", f)
		}
		g.mustCallBankOnce(t, "Authorise")
		if _, f := returned(t, b.get(t, s.RedirectURL)); f["status"] != "RESOLVED" {
			t.Fatalf("the page after both: %v", f)
		}
	})
}

// TestADeadPaymentIsSettledByAsking: the request that took the payment to
// the processor never comes back. The page keeps saying "processing" past
// the holder's lease and past the session's expiry, and the form never
// returns, so no second card can ride on the session's one reference.
// Past its deadline the reconciler asks the processor and settles the
// payment as the request would have: approved if the bank acted, declined
// if it never received it (the bank then closes the reference, so the
// late request is refused and moves nothing).
func TestADeadPaymentIsSettledByAsking(t *testing.T) {
	tests := []struct {
		name        string
		bankActed   bool
		wantStatus  string
		wantEffects int
	}{
		{"the bank approved it", true, "RESOLVED", 1},
		{"the bank never received it", false, "REJECTED", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGateway(t, withSessionTTL(time.Minute))
			order := "o-dead-" + strconv.FormatBool(tt.bankActed)
			s := g.mustStart(t, order)
			b := newBrowser(t)
			form := b.cardForm(t, s.RedirectURL, cardOf(sandbox.CardApproved))
			hold := g.bank.hold
			if tt.bankActed {
				hold = g.bank.holdAnswer
			}
			entered, release := hold(t, "Authorise")
			stuck := make(chan *response, 1)
			go func() { stuck <- b.post(t, s.RedirectURL, form) }()
			mustReachBank(t, entered, "the payment")

			g.clock.Add(2 * time.Minute) // past the lease, the margin and the session's expiry
			page := b.get(t, s.RedirectURL)
			if page.Header.Get("Refresh") == "" || hidden(page.Body)["_csrf"] != "" {
				t.Fatalf("a payment at the processor must show the processing page, never the form: %d\n%s", page.Status, page.Body)
			}
			if r := b.post(t, s.RedirectURL, cardOf(sandbox.CardInstallments).form(hidden(page.Body)["_csrf"])); r.Header.Get("Refresh") == "" && r.Status != http.StatusForbidden {
				t.Fatalf("a second card while the first is at the processor: %d", r.Status)
			}
			if n := g.bank.Calls("Authorise"); n > 1 {
				t.Fatalf("the processor was asked %d times", n)
			}

			f := g.mustReconcileOne(t, b, s.RedirectURL, tt.wantStatus)
			release()
			if _, late := returned(t, <-stuck); late["status"] != tt.wantStatus || late["transactionId"] != f["transactionId"] {
				t.Fatalf("the late request's page: %v, want the settled payment", late)
			}
			if n := g.bank.Effects("Authorise"); n != tt.wantEffects {
				t.Fatalf("the bank acted %d times, want %d", n, tt.wantEffects)
			}
			h, _ := g.mustHistory(t, order)
			subs := h.Steps[0].SubSteps
			if len(h.Steps) != 1 || h.Steps[0].StatusCode != tt.wantStatus || !strings.HasPrefix(subs[len(subs)-1].StatusDetail, "settled by inquiry") {
				t.Fatalf("history: %+v", h.Steps)
			}
			if ds, _ := g.svc.InDoubt(context.Background()); len(ds) != 0 {
				t.Fatalf("still in doubt: %+v", ds)
			}
		})
	}
}

func TestAntiForgery(t *testing.T) {
	g := mustGateway(t)
	s := g.mustStart(t, "order-csrf")
	b := newBrowser(t)
	page := b.get(t, s.RedirectURL)
	token := hidden(page.Body)["_csrf"]
	other := newBrowser(t)
	otherToken := hidden(other.get(t, s.RedirectURL).Body)["_csrf"]
	c := cardOf(sandbox.CardApproved)

	tests := []struct {
		name   string
		client *browser
		token  string
		header map[string]string
		want   int
	}{
		{"no token", b, "", nil, http.StatusBadRequest},
		{"a wrong token", b, "forged-token-forged-token-forged!", nil, http.StatusForbidden},
		{"another browser's token", b, otherToken, nil, http.StatusForbidden},
		{"a token without its cookie", newBrowser(t), token, nil, http.StatusBadRequest},
		{"a cross-site post", b, token, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.RedirectURL, strings.NewReader(c.form(tt.token).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			r := do(t, tt.client.c, req)
			if r.Status != tt.want && !(tt.want == http.StatusBadRequest && r.Status == http.StatusForbidden) {
				t.Fatalf("status %d, want %d\n%s", r.Status, tt.want, r.Body)
			}
			if !bytes.Contains(r.Body, []byte(`id="message"`)) {
				t.Errorf("a refused form should get the message page:\n%s", r.Body)
			}
		})
	}
	if n := g.bank.Calls("Authorise"); n != 0 {
		t.Fatalf("a forged form reached the processor")
	}
	// The real token still works.
	action, f := returned(t, b.post(t, s.RedirectURL, c.form(token)))
	checkReturn(t, action, f, map[string]string{"status": "RESOLVED"})
}

func TestUnknownSessionPage(t *testing.T) {
	g := mustGateway(t)
	for _, path := range []string{"/pay/00000000-0000-0000-0000-000000000000", "/pay/nope", "/pay/nope/return/x"} {
		r := newBrowser(t).get(t, g.URL+path)
		if r.Status != http.StatusNotFound || !bytes.Contains(r.Body, []byte(`id="message"`)) {
			t.Errorf("GET %s: %d\n%s", path, r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type %q, want an HTML page", path, ct)
		}
	}
}

// TestPendingResolves: a PENDING payment is decided by the processor after
// SANDBOX_PENDING_DELAY; the background job records it.
func TestPendingResolves(t *testing.T) {
	tests := []struct {
		card, status, subStatus string
		purchase                int
	}{
		{sandbox.CardPendingOK, "RESOLVED", "RESOLVED", http.StatusOK},
		{sandbox.CardPendingRisky, "REJECTED", "RISKY", http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.card, func(t *testing.T) {
			g := mustGateway(t)
			s := g.mustStart(t, "o-pending")
			b := newBrowser(t)
			_, f := returned(t, b.pay(t, s.RedirectURL, cardOf(tt.card)))
			if f["status"] != "PENDING" {
				t.Fatalf("a pending card: %v", f)
			}
			if r := g.call(t, "/purchase", body(opBody("o-pending", "p-early"))); r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("purchase while pending: %s", r)
			}
			g.clock.Add(10*time.Second - time.Millisecond)
			if _, err := g.svc.RunJobsOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			if h, _ := g.mustHistory(t, "o-pending"); h.Status != "PENDING" {
				t.Fatalf("decided before the delay: %+v", h)
			}
			g.clock.Add(time.Millisecond)
			if _, err := g.svc.RunJobsOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			h, _ := g.mustHistory(t, "o-pending")
			if h.Status != tt.status || h.Substatus != tt.subStatus {
				t.Fatalf("after the delay: %+v", h)
			}
			if _, f := returned(t, b.get(t, s.RedirectURL)); f["status"] != tt.status || f["subStatus"] != tt.subStatus {
				t.Fatalf("the page after the delay: %v", f)
			}
			if r := g.call(t, "/purchase", body(opBody("o-pending", "p-late"))); r.Status != tt.purchase {
				t.Fatalf("purchase after the delay: %s", r)
			}
		})
	}
}

// TestASlowBankAnswerHoldsNoOtherPayment: one pass of the jobs works on
// its claimed entries at once, so a bank slow to give one PENDING
// payment's outcome does not hold the others back until it answers.
func TestASlowBankAnswerHoldsNoOtherPayment(t *testing.T) {
	g := mustGateway(t, withCallTimeout(time.Minute)) // the held call waits for the test, not a timeout
	orders := []string{"o-pending-1", "o-pending-2"}
	for _, o := range orders {
		s := g.mustStart(t, o)
		if _, f := returned(t, newBrowser(t).pay(t, s.RedirectURL, cardOf(sandbox.CardPendingOK))); f["status"] != "PENDING" {
			t.Fatalf("%s with a pending card: %v", o, f)
		}
	}
	g.clock.Add(10 * time.Second)
	entered, release := g.bank.hold(t, "Status")
	pass := make(chan error, 1)
	go func() { _, err := g.svc.RunJobsOnce(context.Background()); pass <- err }()
	<-entered
	held := g.bank.references("Status")[0]
	var resolved []string
	gatewaytest.Eventually(t, 10*time.Second, "the other payment resolved while the bank held "+held, func() bool {
		resolved = resolved[:0]
		for _, o := range orders {
			if h, _ := g.mustHistory(t, o); h.Status == "RESOLVED" {
				resolved = append(resolved, o)
			}
		}
		return len(resolved) > 0
	})
	if len(resolved) != 1 {
		t.Fatalf("while the bank held the outcome of %s, resolved: %v; want the other order only", held, resolved)
	}
	release()
	if err := <-pass; err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		if h, _ := g.mustHistory(t, o); h.Status != "RESOLVED" {
			t.Errorf("%s after the pass: %+v", o, h)
		}
	}
}

// TestReturnURLOnThePage: the return form posts to the returnUrl with its
// host as a browser writes it, and the page's Content-Security-Policy
// allows exactly that origin.
func TestReturnURLOnThePage(t *testing.T) {
	g := mustGateway(t)
	tests := []struct {
		name, returnURL, action, origin string
	}{
		{"a DNS name", "https://shop.example/orders/return?x=1", "https://shop.example/orders/return?x=1", "https://shop.example"},
		{"upper case and a port", "https://Shop.Example:8443/r", "https://shop.example:8443/r", "https://shop.example:8443"},
		{"Unicode", "https://çiçek.example/r", "https://xn--iek-1lab.example/r", "https://xn--iek-1lab.example"},
		{"IPv4", "https://203.0.113.9/r", "https://203.0.113.9/r", "https://203.0.113.9"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order := "o-return-" + strconv.Itoa(i)
			s := g.mustStart(t, order, set("returnUrl", tt.returnURL))
			page := newBrowser(t).pay(t, s.RedirectURL, cardOf(sandbox.CardApproved))
			if action, _ := returned(t, page); action != tt.action {
				t.Errorf("the return form posts to %q, want %q", action, tt.action)
			}
			csp := page.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "form-action 'self' "+tt.origin+";") {
				t.Errorf("Content-Security-Policy %q does not allow exactly %s", csp, tt.origin)
			}
		})
	}
}
