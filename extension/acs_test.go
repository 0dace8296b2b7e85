package extension_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"

	"testing"
	"time"

	"github.com/akinon-gateway/gateway/extension/openapicheck"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// bankTrip is a shopper's way through the bank: the gateway's form to the
// ACS, the ACS's pages, and the ACS's form back to the gateway.
type bankTrip struct {
	ToBank  string     // the ACS URL the gateway's page posts to
	Asked   bool       // the ACS asked for a code
	BackURL string     // the gateway's return URL for the attempt
	Back    url.Values // the bank's signed fields
}

// toBank follows the gateway's auto-submitting form to the ACS, answers
// its code page with code (frictionless: no page), and stops before the
// ACS's form back to the gateway, which the test then posts (or forges).
func (b *browser) toBank(tb testing.TB, g *gateway, page *response, code string) bankTrip {
	tb.Helper()
	if page.Status != http.StatusOK || !bytes.Contains(page.Body, []byte(`id="bank"`)) {
		tb.Fatalf("not the page to the bank: %d\n%s", page.Status, page.Body)
	}
	var trip bankTrip
	trip.ToBank = formAction(page.Body)
	if !strings.HasPrefix(trip.ToBank, g.ACSURL+"/") {
		tb.Fatalf("the page posts to %q, not to the ACS at %s", trip.ToBank, g.ACSURL)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+g.ACSURL+";") {
		tb.Errorf("the page's form-action does not allow exactly the ACS origin: %s", csp)
	}
	at := b.postOff(tb, trip.ToBank, values(hidden(page.Body)))
	if bytes.Contains(at.Body, []byte(`id="acs-challenge"`)) {
		trip.Asked = true
		f := values(hidden(at.Body))
		f.Set("code", code)
		at = b.postOff(tb, g.ACSURL+formAction(at.Body), f)
	}
	if at.Status != http.StatusOK || !bytes.Contains(at.Body, []byte(`id="acs-return"`)) {
		tb.Fatalf("the ACS did not send the shopper back: %d\n%s", at.Status, at.Body)
	}
	trip.BackURL, trip.Back = formAction(at.Body), values(hidden(at.Body))
	return trip
}

// payToBank starts a session for order, pays it with the 3-D Secure card
// in a new browser and takes the shopper to the bank, answering code:
// the trip, the session and the browser, which a test may go on with.
func (g *gateway) payToBank(tb testing.TB, order, code string) (bankTrip, started, *browser) {
	tb.Helper()
	s := g.mustStart(tb, order)
	b := newBrowser(tb)
	return b.toBank(tb, g, b.pay(tb, s.RedirectURL, cardOf(sandbox.CardThreeDS)), code), s, b
}

// postOff posts to the bank's ACS, which openapi.json does not describe.
func (b *browser) postOff(tb testing.TB, u string, form url.Values) *response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(tb, b.c, openapicheck.Unlisted(req))
}

// back posts the bank's fields to the gateway's return URL, as the ACS's
// page does: cross-site, so without the page's cookies.
func (trip bankTrip) back(tb testing.TB, fields url.Values) *response {
	tb.Helper()
	return newBrowser(tb).post(tb, trip.BackURL, fields)
}

func values(m map[string]string) url.Values {
	v := url.Values{}
	for k, x := range m {
		v.Set(k, x)
	}
	return v
}

func TestThreeDSecureAtTheACS(t *testing.T) {
	tests := []struct {
		name, card, code  string
		asked             bool
		status, subStatus string
	}{
		{"challenge passed", sandbox.CardThreeDS, sandbox.ThreeDSCode, true, "RESOLVED", "RESOLVED"},
		{"challenge failed", sandbox.CardThreeDS, "000000", true, "REJECTED", "PROCESSING_ERROR"},
		{"frictionless", sandbox.CardFrictionless, "", false, "RESOLVED", "RESOLVED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGateway(t)
			order := "order-acs-" + strings.ReplaceAll(tt.name, " ", "-")
			s := g.mustStart(t, order, set("locale", "en-US"))
			b := newBrowser(t)
			trip := b.toBank(t, g, b.pay(t, s.RedirectURL, cardOf(tt.card)), tt.code)
			if trip.Asked != tt.asked {
				t.Errorf("the ACS asked for a code: %v, want %v", trip.Asked, tt.asked)
			}
			if !strings.HasPrefix(trip.BackURL, g.URL+"/pay/"+s.SessionID+"/return/") {
				t.Fatalf("the ACS returns to %q", trip.BackURL)
			}
			// Not paid while the shopper is at the bank.
			if r := g.call(t, "/purchase", body(opBody(order, "early-"+order))); r.Status != http.StatusUnprocessableEntity {
				t.Errorf("purchase during 3-D Secure: %s", r)
			}
			action, f := returned(t, trip.back(t, trip.Back))
			checkReturn(t, action, f, map[string]string{"status": tt.status, "subStatus": tt.subStatus, "sessionId": s.SessionID})
			h, _ := g.mustHistory(t, order)
			if len(h.Steps) != 1 || h.Steps[0].StatusCode != tt.status || len(h.Steps[0].SubSteps) != 2 {
				t.Errorf("history after 3-D Secure: %+v", h)
			}
			// The shopper's own page now sends them back to the shop too.
			if _, f := returned(t, b.get(t, s.RedirectURL)); f["status"] != tt.status {
				t.Errorf("the hosted page after the return: %v", f)
			}
		})
	}
}

func TestNotEnrolledNeedsNoBank(t *testing.T) {
	g := mustGateway(t)
	s := g.mustStart(t, "order-not-enrolled")
	action, f := returned(t, newBrowser(t).pay(t, s.RedirectURL, cardOf(sandbox.CardNotEnrolled)))
	checkReturn(t, action, f, map[string]string{"status": "RESOLVED", "sessionId": s.SessionID})
}

// TestBankReturnReplayedOrTampered: the return completes once; a forged
// one is never approved.
func TestBankReturnReplayedOrTampered(t *testing.T) {
	t.Run("replayed", func(t *testing.T) {
		g := mustGateway(t)
		trip, _, _ := g.payToBank(t, "order-replay", sandbox.ThreeDSCode)
		_, first := returned(t, trip.back(t, trip.Back))
		_, again := returned(t, trip.back(t, trip.Back))
		t.Logf("first return: %s/%s %s; replayed: %s/%s %s", first["status"], first["subStatus"], first["transactionId"],
			again["status"], again["subStatus"], again["transactionId"])
		if first["status"] != "RESOLVED" || again["status"] != "RESOLVED" || first["transactionId"] != again["transactionId"] {
			t.Fatalf("a replayed return: %v then %v", first, again)
		}
		if n := g.bank.Calls("Complete"); n != 1 {
			t.Fatalf("the bank completed %d times", n)
		}
		h, _ := g.mustHistory(t, "order-replay")
		if len(h.Steps) != 1 || len(h.Steps[0].SubSteps) != 2 {
			t.Fatalf("history after a replay: %+v", h)
		}
	})
	t.Run("two at once", func(t *testing.T) {
		g := mustGateway(t)
		trip, _, _ := g.payToBank(t, "order-race", sandbox.ThreeDSCode)
		entered, release := g.bank.hold(t, "Complete")
		first := make(chan *response, 1)
		go func() { first <- trip.back(t, trip.Back) }()
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the first return never reached the bank")
		}
		// The second arrives while the first is at the bank: it waits on
		// the processing page and never reaches the bank.
		second := trip.back(t, trip.Back)
		if second.Status != http.StatusOK || second.Header.Get("Refresh") == "" {
			t.Errorf("the second return while the first is at the bank: %d %s", second.Status, second.Body)
		}
		release()
		if _, f := returned(t, <-first); f["status"] != "RESOLVED" {
			t.Fatalf("the first return: %v", f)
		}
		if n := g.bank.Calls("Complete"); n != 1 {
			t.Fatalf("two returns at once reached the bank %d times", n)
		}
	})
	forged := []struct {
		name string
		edit func(url.Values)
	}{
		{"bad mac", func(v url.Values) { v.Set("mac", "AAAA"+v.Get("mac")[4:]) }},
		{"other amount", func(v url.Values) { v.Set("amount", "1.00") }},
		{"other payment", func(v url.Values) { v.Set("ref", "pay-someone-else") }},
		{"failure turned to success", func(v url.Values) { v.Set("status", "Y") }},
	}
	for _, tt := range forged {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGateway(t)
			order := "order-forged-" + strings.ReplaceAll(tt.name, " ", "-")
			trip, _, _ := g.payToBank(t, order, "000000")
			f := url.Values{}
			for k, v := range trip.Back {
				f[k] = v
			}
			tt.edit(f)
			_, ret := returned(t, trip.back(t, f))
			t.Logf("%s: the return page says %s/%s", tt.name, ret["status"], ret["subStatus"])
			if ret["status"] != "REJECTED" {
				t.Fatalf("a forged return (%s): %v", tt.name, ret)
			}
			// The genuine one, after: the attempt is finished, nothing changes.
			if _, again := returned(t, trip.back(t, trip.Back)); again["status"] != "REJECTED" {
				t.Fatalf("the genuine return after a forged one: %v", again)
			}
			if r := g.call(t, "/purchase", body(opBody(order, "purchase-"+order))); r.Status != http.StatusUnprocessableEntity {
				t.Errorf("purchase after a forged return: %s", r)
			}
		})
	}
	t.Run("unknown attempt", func(t *testing.T) {
		g := mustGateway(t)
		trip, _, _ := g.payToBank(t, "order-other-attempt", sandbox.ThreeDSCode)
		other := trip.BackURL[:strings.LastIndex(trip.BackURL, "/")+1] + "not-this-attempt"
		r := newBrowser(t).post(t, other, trip.Back)
		if r.Status != http.StatusOK || bytes.Contains(r.Body, []byte(`id="return"`)) {
			t.Fatalf("a return for another attempt: %d\n%s", r.Status, r.Body)
		}
		if n := g.bank.Calls("Complete"); n != 0 {
			t.Fatalf("a return for another attempt reached the bank")
		}
		// The real attempt still completes.
		if _, f := returned(t, trip.back(t, trip.Back)); f["status"] != "RESOLVED" {
			t.Fatalf("the real return after a stray one: %v", f)
		}
	})
}

// TestAbandonedChallenge: a shopper who never comes back from the ACS
// finds the session gone at SESSION_TTL, and a late return changes
// nothing.
func TestAbandonedChallenge(t *testing.T) {
	g := mustGateway(t, withSessionTTL(15*time.Minute))
	trip, s, b := g.payToBank(t, "o-3ds-abandoned", sandbox.ThreeDSCode)
	// Meanwhile the hosted page waits for the bank.
	if r := b.get(t, s.RedirectURL); r.Status != http.StatusOK || r.Header.Get("Refresh") == "" {
		t.Fatalf("the hosted page while at the bank: %d\n%s", r.Status, r.Body)
	}
	g.clock.Add(15 * time.Minute)
	if r := trip.back(t, trip.Back); r.Status != http.StatusGone {
		t.Fatalf("a return after the expiry: %d", r.Status)
	}
	if n := g.bank.Calls("Complete"); n != 0 {
		t.Fatalf("an expired challenge reached the processor")
	}
}

// TestBankReturnSettledByTheReconciler: a return whose request is stuck at
// the bank is settled by the reconciler from the bank's record, once; the
// late request then shows the settled payment.
func TestBankReturnSettledByTheReconciler(t *testing.T) {
	tests := []struct {
		name        string
		afterActing bool
		wantStatus  string
	}{
		{"the bank never got it", false, "REJECTED"},
		{"the bank acted, its answer is lost", true, "RESOLVED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGateway(t, withSessionTTL(time.Minute))
			order := "order-acs-rec-" + strings.ReplaceAll(tt.name, " ", "-")
			trip, s, b := g.payToBank(t, order, sandbox.ThreeDSCode)
			entered, release := g.bank.hold(t, "Complete")
			if tt.afterActing {
				entered, release = g.bank.holdAnswer(t, "Complete")
			}
			stuck := make(chan *response, 1)
			go func() { stuck <- trip.back(t, trip.Back) }()
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the return never reached the bank")
			}
			g.clock.Add(2 * time.Minute) // past the lease, the margin and the session's expiry
			g.mustReconcileOne(t, b, s.RedirectURL, tt.wantStatus)
			release()
			if _, late := returned(t, <-stuck); late["status"] != tt.wantStatus {
				t.Fatalf("the late return's page: %v, want the settled payment", late)
			}
			// A replay after all that changes nothing.
			if _, again := returned(t, trip.back(t, trip.Back)); again["status"] != tt.wantStatus {
				t.Fatalf("a replay after settlement: %v", again)
			}
			h, _ := g.mustHistory(t, order)
			if len(h.Steps) != 1 || h.Steps[0].StatusCode != tt.wantStatus {
				t.Fatalf("history: %+v", h.Steps)
			}
			if ds, _ := g.svc.InDoubt(context.Background()); len(ds) != 0 {
				t.Fatalf("still in doubt: %+v", ds)
			}
		})
	}
}
