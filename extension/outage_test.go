package extension_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestStoreOutage stops Redis under a running gateway: every call fails
// closed with 503 and the contract body, nothing reaches the processor;
// once Redis is back the same requests are served, by the same gateway,
// on the data written before the crash.
func TestStoreOutage(t *testing.T) {
	srv := redistest.Start(t, redistest.Durable())
	g := mustGateway(t, onRedis(srv))
	paid := g.mustPaid(t, "o-outage", sandbox.CardApproved)
	g.mustOrderIn(t, "o-outage-2", "purchased")
	g.mustOrderIn(t, "o-outage-4", "paid")
	// A session opened before the crash, to be paid after it.
	later := g.mustStart(t, "o-outage-3")
	laterPage := newBrowser(t)
	csrf := hidden(laterPage.get(t, later.RedirectURL).Body)["_csrf"]

	before := map[string]int{}
	for _, m := range []string{"Authorise", "Capture", "Void", "Refund"} {
		before[m] = g.bank.Calls(m)
	}
	// A guid answered before the crash, sent again with a body the strict
	// decoding refuses: a 400 whatever the store does.
	if r := g.call(t, "/history", body(opBody("o-outage", "g-outage-read"))); r.Status != http.StatusOK {
		t.Fatalf("history before the crash: %s", r)
	}
	invalid := `{"guid":"g-outage-read","orderId":"o-outage","OrderId":"o-outage"}`
	purchase := body(opBody("o-outage", "g-outage-purchase"))
	calls := []struct{ path, body string }{
		{"/start-session", body(startBody("o-outage-new", "g-outage-start", "10.00"))},
		{"/purchase", purchase},
		{"/void", body(opBody("o-outage-4", "g-outage-void"))},
		{"/refund", body(refundBody("o-outage-2", "g-outage-refund", "10.00"))},
		{"/history", body(opBody("o-outage", "g-outage-history"))},
	}
	srv.Kill()

	for _, c := range calls {
		r := g.call(t, c.path, c.body)
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("%s with Redis down: %s", c.path, r)
		}
		if e := checkErrorBody(t, r); e.Errors[0].Code != "store_unavailable" {
			t.Fatalf("%s with Redis down: %+v", c.path, e.Errors)
		}
		if r.Header.Get("Idempotency-Expires") != "" {
			t.Errorf("%s: a 503 must not be stored", c.path)
		}
	}
	if r := g.call(t, "/history", invalid); r.Status != http.StatusBadRequest {
		t.Errorf("an answered guid with an invalid body, Redis down: %s, want 400", r)
	}
	if r := do(t, http.DefaultClient, mustGet(t, g.URL+"/readyz")); r.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %s", r)
	}
	if r := do(t, http.DefaultClient, mustGet(t, g.URL+"/healthz")); r.Status != http.StatusOK {
		t.Errorf("/healthz with Redis down: %s (the process is alive)", r)
	}
	if r := newBrowser(t).get(t, paid.RedirectURL); r.Status != http.StatusServiceUnavailable || !bytes.Contains(r.Body, []byte(`id="message"`)) {
		t.Errorf("the hosted page with Redis down: %d\n%s", r.Status, r.Body)
	}
	if r := laterPage.post(t, later.RedirectURL, cardOf(sandbox.CardApproved).form(csrf)); r.Status != http.StatusServiceUnavailable {
		t.Errorf("paying with Redis down: %d", r.Status)
	}
	for m, n := range before {
		if got := g.bank.Calls(m); got != n {
			t.Fatalf("the processor's %s was called %d times with Redis down", m, got-n)
		}
	}

	srv.Restart(t)
	gatewaytest.Eventually(t, 10*time.Second, "/readyz to answer 200 after the restart", func() bool {
		return do(t, http.DefaultClient, mustGet(t, g.URL+"/readyz")).Status == http.StatusOK
	})
	r := g.call(t, "/purchase", purchase)
	if r.Status != http.StatusOK {
		t.Fatalf("the same purchase after the restart: %s", r)
	}
	var op operation
	mustJSON(t, r, &op)
	if op.Status != "RESOLVED" || g.bank.Calls("Capture") != before["Capture"]+1 {
		t.Fatalf("purchase after restart: %+v, %d captures", op, g.bank.Calls("Capture")-before["Capture"])
	}
	if again := g.call(t, "/purchase", purchase); !bytes.Equal(again.Body, r.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay after restart: %s", again)
	}
	for _, c := range calls {
		if c.path == "/purchase" {
			continue
		}
		if r := g.call(t, c.path, c.body); r.Status != http.StatusOK {
			t.Errorf("%s after the restart: %s", c.path, r)
		}
	}
	// The session opened before the crash is still payable.
	action, f := returned(t, laterPage.post(t, later.RedirectURL, cardOf(sandbox.CardApproved).form(csrf)))
	checkReturn(t, action, f, map[string]string{"status": "RESOLVED", "sessionId": later.SessionID})
}

func mustGet(tb testing.TB, u string) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// TestCrashAfterTheProcessor: Redis dies while a refund is at the
// processor, so its outcome cannot be stored. The answer is 503
// outcome_unknown, never store_unavailable (whose promise is that nothing
// reached the processor). The reservation keeps counting against the
// balance, so a new guid cannot refund the same money again; the same
// guid is in flight until the reconciler, past the deadline, asks the
// processor and settles it; then it answers the settled truth.
func TestCrashAfterTheProcessor(t *testing.T) {
	srv := redistest.Start(t, redistest.Durable())
	g := mustGateway(t, onRedis(srv))
	g.mustOrderIn(t, "o-crash", "purchased")
	refund := body(refundBody("o-crash", "g-crash", "40.00"))

	entered, release := g.bank.hold(t, "Refund")
	answer := make(chan *response, 1)
	go func() { answer <- g.call(t, "/refund", refund) }()
	mustReachBank(t, entered, "the refund")
	srv.Kill()
	release()
	r := <-answer
	var e errorBody
	mustJSON(t, r, &e)
	if r.Status != http.StatusServiceUnavailable || e.Errors[0].Code != string(provider.CodeOutcomeUnknown) {
		t.Fatalf("a refund whose outcome could not be stored: %s", r)
	}

	srv.Restart(t)
	if r := g.call(t, "/refund", refund); r.Status != http.StatusConflict {
		t.Fatalf("the same guid before it is settled: %s, want 409 request_in_progress", r)
	}
	if r := g.call(t, "/refund", body(refundBody("o-crash", "g-other", "60.01"))); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a new guid for more than is left beside the doubtful refund: %s", r)
	}
	g.clock.Add(41 * time.Second) // past the lease and the margin
	if rep, err := g.svc.ReconcileOnce(context.Background()); err != nil || rep.Settled != 1 {
		t.Fatalf("reconcile = %+v, %v", rep, err)
	}
	r = g.call(t, "/refund", refund)
	var op operation
	mustJSON(t, r, &op)
	if r.Status != http.StatusOK || op.Status != "RESOLVED" || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retried refund: %s", r)
	}
	refs := g.bank.references("Refund")
	if len(refs) != 1 || refs[0] == "g-crash" {
		t.Fatalf("processor references %v: want one, derived from the guid", refs)
	}
	if inq := g.bank.references("Inquire"); len(inq) != 1 || inq[0] != refs[0] {
		t.Fatalf("inquiries %v, want one about %s", inq, refs[0])
	}
	if n := g.bank.Effects("Refund"); n != 1 {
		t.Fatalf("the processor refunded %d times", n)
	}
	h, _ := g.mustHistory(t, "o-crash")
	if h.Balance != "60.00" {
		t.Fatalf("balance %s after one refund of 40.00 on 100.00", h.Balance)
	}
	last := h.Steps[len(h.Steps)-1]
	if last.Type != "REFUND" || last.StatusCode != "RESOLVED" || !strings.HasPrefix(last.SubSteps[0].StatusDetail, "settled by inquiry") {
		t.Fatalf("the settled step: %+v", last)
	}
	// Another guid for the rest still fits: the crashed refund was not counted twice.
	g.mustOperate(t, "/refund", body(refundBody("o-crash", "g-rest", "60.00")), "RESOLVED")
}
