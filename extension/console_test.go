package extension_test

import (
	"context"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// hookReceiver is the merchant's webhook endpoint: it answers 503 until
// the test says otherwise.
type hookReceiver struct {
	*httptest.Server
	status atomic.Int32
	got    atomic.Int32
}

func mustHookReceiver(tb testing.TB) *hookReceiver {
	tb.Helper()
	r := &hookReceiver{}
	r.status.Store(http.StatusServiceUnavailable)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.got.Add(1)
		w.WriteHeader(int(r.status.Load()))
	}))
	tb.Cleanup(r.Close)
	return r
}

// runSender delivers the gateway's webhooks until the test ends.
func (g *gateway) runSender(tb testing.TB) {
	tb.Helper()
	s := webhook.NewSender(g.store, g.merchants, nil, webhook.Config{AllowPrivate: true, // the receiver is on loopback
		Schedule: []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond}, Timeout: 2 * time.Second,
		Workers: 4, Poll: 10 * time.Millisecond, Retention: time.Hour, Replica: "replica-a",
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	tb.Cleanup(func() { cancel(); wg.Wait() })
}

// consoleWorld is a gateway with the operator console, an order paid,
// purchased and refunded (o-console: 100.00, 30.00 back), and the
// webhook of its payment parked as a dead letter after three attempts
// the receiver refused. The sender keeps running.
type consoleWorld struct {
	*gateway
	rcv     *hookReceiver
	eventID string
}

func mustConsoleWorld(tb testing.TB) *consoleWorld {
	tb.Helper()
	rcv := mustHookReceiver(tb)
	// A refund held in the bank stays in doubt while a browser looks at
	// it, which takes longer than production's 8 s processor timeout when
	// Chromium starts cold.
	g := mustGateway(tb, withAdmin(), withWebhooks(rcv.URL, []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond}),
		withCallTimeout(2*time.Minute))
	g.mustOrderIn(tb, "o-console", "refunded")
	g.runSender(tb)
	w := &consoleWorld{gateway: g, rcv: rcv}
	gatewaytest.Eventually(tb, 10*time.Second, "a dead letter", func() bool {
		evs, err := g.store.DeadLetters(context.Background(), 10)
		if err != nil || len(evs) != 1 {
			return false
		}
		w.eventID = evs[0].ID
		return true
	})
	return w
}

// operatorClient is an operator's HTTP client: the operator's
// credentials, a cookie jar, and redirects not followed, so a test sees
// each 303.
type operatorClient struct {
	c    *http.Client
	base string
}

func (g *gateway) operator(tb testing.TB) *operatorClient {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &operatorClient{base: g.URL, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (o *operatorClient) get(tb testing.TB, path string, opts ...reqOption) *response {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, o.base+path, nil)
	req.SetBasicAuth(adminUser, adminPassword)
	for _, opt := range opts {
		opt(req)
	}
	return do(tb, o.c, req)
}

func (o *operatorClient) post(tb testing.TB, path string, form url.Values, opts ...reqOption) *response {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, o.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(adminUser, adminPassword)
	for _, opt := range opts {
		opt(req)
	}
	return do(tb, o.c, req)
}

var (
	styleNonceRE = regexp.MustCompile(`<style nonce="([^"]+)">`)
	errorCodeRE  = regexp.MustCompile(`<span class="mono" id="error-code">([^<]*)</span>`)
)

// checkConsolePage checks what every console page carries: HTML, not
// cached, its own policy with the nonce of its one style element, no
// script, no frame, forms only to the gateway.
func checkConsolePage(tb testing.TB, name string, r *response) {
	tb.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		tb.Errorf("%s: Content-Type %q", name, ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		tb.Errorf("%s: Cache-Control %q", name, cc)
	}
	if xf := r.Header.Get("X-Frame-Options"); xf != "DENY" {
		tb.Errorf("%s: X-Frame-Options %q", name, xf)
	}
	m := styleNonceRE.FindSubmatch(r.Body)
	if m == nil {
		tb.Fatalf("%s: no style element with a nonce", name)
	}
	n := html.UnescapeString(string(m[1]))
	want := "default-src 'none'; style-src 'nonce-" + n + "'; script-src 'nonce-" + n +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if csp := r.Header.Get("Content-Security-Policy"); csp != want {
		tb.Errorf("%s: Content-Security-Policy\n%s\nwant\n%s", name, csp, want)
	}
	if strings.Contains(strings.ToLower(string(r.Body)), "<script") || strings.Contains(string(r.Body), " style=") {
		tb.Errorf("%s: a script or an inline style attribute:\n%s", name, r.Body)
	}
}

// TestConsolePages: every page of the console is a page of the hosted
// page's discipline, behind the operator's credentials, and answers
// errors as pages.
func TestConsolePages(t *testing.T) {
	w := mustConsoleWorld(t)
	op := w.operator(t)
	for _, path := range []string{"/admin/", "/admin/order?merchant=default&orderId=o-console", "/admin/dead-letters",
		"/admin/events/" + w.eventID, "/admin/in-doubt", "/admin/search?orderId=nope"} {
		r := op.get(t, path)
		if r.Status != http.StatusOK && !(strings.Contains(path, "nope") && r.Status == http.StatusNotFound) {
			t.Fatalf("GET %s: %d\n%s", path, r.Status, r.Body)
		}
		checkConsolePage(t, path, r)
	}
	// The card: its BIN and last four, never the number.
	order := op.get(t, "/admin/order?merchant=default&orderId=o-console")
	if b := string(order.Body); strings.Contains(b, sandbox.CardApproved) || !strings.Contains(b, "424242…4242") {
		t.Errorf("the order page shows the card as:\n%s", b)
	}
	if r := op.get(t, "/admin"); r.Status != http.StatusMovedPermanently || r.Header.Get("Location") != "/admin/" {
		t.Errorf("GET /admin: %d %s", r.Status, r.Header.Get("Location"))
	}

	errorPages := []struct {
		name   string
		r      *response
		status int
		code   string
	}{
		{"no credentials", op.get(t, "/admin/", withoutAuth()), 401, "unauthorized"},
		{"unknown order", op.get(t, "/admin/order?merchant=default&orderId=nope"), 404, "order_not_found"},
		{"unknown event", op.get(t, "/admin/events/nope"), 404, "event_not_found"},
	}
	for _, tt := range errorPages {
		if tt.r.Status != tt.status {
			t.Errorf("%s: %d, want %d\n%s", tt.name, tt.r.Status, tt.status, tt.r.Body)
			continue
		}
		checkConsolePage(t, tt.name, tt.r)
		if m := errorCodeRE.FindSubmatch(tt.r.Body); m == nil || string(m[1]) != tt.code {
			t.Errorf("%s: the page does not name %s:\n%s", tt.name, tt.code, tt.r.Body)
		}
	}
	if auth := errorPages[0].r.Header.Get("WWW-Authenticate"); auth != `Basic realm="gateway-operator"` {
		t.Errorf("401 page: WWW-Authenticate %q", auth)
	}
}

// TestConsoleSearch: an order is found by merchant and orderId, by
// sessionId, or by any guid used on it; an order id at several merchants
// lists them; nothing found is a 404 page saying so.
func TestConsoleSearch(t *testing.T) {
	g := mustGateway(t, withAdmin())
	g.mustOrderIn(t, "o-found", "refunded")
	s := g.mustStart(t, "o-shared")
	other := g.call(t, "/start-session", body(startBody("o-shared", "start-o-shared-other", "10.00")),
		withAuth("other-shop", "other-password-0123"))
	if other.Status != http.StatusOK {
		t.Fatalf("start-session at the other merchant: %s", other)
	}
	op := g.operator(t)
	found := "/admin/order?merchant=default&orderId=o-found"
	shared := "/admin/order?merchant=default&orderId=o-shared"
	tests := []struct {
		query    string
		status   int
		location string // of a 303
		text     string // in the page otherwise
	}{
		{"orderId=o-found", 303, found, ""},
		{"orderId=+o-found+&merchant=default", 303, found, ""},
		{"sessionId=" + s.SessionID, 303, shared, ""},
		{"guid=refund-o-found", 303, found, ""},
		{"guid=purchase-o-found&merchant=default", 303, found, ""},
		{"guid=start-o-shared-other", 303, "/admin/order?merchant=other&orderId=o-shared", ""},
		{"orderId=o-shared&merchant=other", 303, "/admin/order?merchant=other&orderId=o-shared", ""},
		{"orderId=o-shared", 200, "", `<li><a href="/admin/order?merchant=other&amp;orderId=o-shared">other / o-shared</a></li>`},
		{"guid=refund-o-found&merchant=other", 404, "", "Nothing found for guid refund-o-found."},
		{"orderId=nope", 404, "", "Nothing found for order nope."},
		{"sessionId=nope", 404, "", "Nothing found for session nope."},
		{"orderId=" + strings.Repeat("x", 300), 400, "", "at most 256 characters"},
		{"", 400, "", "Give an order id, a session id or a guid."},
	}
	for _, tt := range tests {
		r := op.get(t, "/admin/search?"+tt.query)
		if r.Status != tt.status {
			t.Errorf("search %s: %d, want %d\n%s", tt.query, r.Status, tt.status, r.Body)
			continue
		}
		if tt.location != "" {
			if loc := r.Header.Get("Location"); loc != tt.location {
				t.Errorf("search %s: to %s, want %s", tt.query, loc, tt.location)
			}
			continue
		}
		if !strings.Contains(string(r.Body), tt.text) {
			t.Errorf("search %s: the page does not say %q:\n%s", tt.query, tt.text, r.Body)
		}
	}
}

// TestConsoleActions: every action is a POST that needs the form's token
// (or a same-origin browser's Sec-Fetch-Site): without it, or from
// another site, it is refused with 403 and does nothing; with it the
// dead letter is replayed and delivered, and replaying what is not
// parked is a 409 page.
func TestConsoleActions(t *testing.T) {
	w := mustConsoleWorld(t)
	op := w.operator(t)
	replay := "/admin/events/" + w.eventID + "/replay"

	list := op.get(t, "/admin/dead-letters")
	token := hidden(list.Body)["_csrf"]
	if list.Status != http.StatusOK || token == "" || !strings.Contains(string(list.Body), `data-event="`+w.eventID+`"`) {
		t.Fatalf("dead letters page: %d token %q\n%s", list.Status, token, list.Body)
	}
	refused := []struct {
		name string
		r    *response
	}{
		{"no token", op.post(t, replay, nil)},
		{"another token", op.post(t, replay, url.Values{"_csrf": {"not-the-token"}})},
		{"no token, replay all", op.post(t, "/admin/dead-letters/replay", nil)},
		{"from another site", op.post(t, replay, url.Values{"_csrf": {token}}, withHeader("Sec-Fetch-Site", "cross-site"))},
		{"another browser's token", w.operator(t).post(t, replay, url.Values{"_csrf": {token}})},
	}
	for _, tt := range refused {
		if tt.r.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403\n%s", tt.name, tt.r.Status, tt.r.Body)
			continue
		}
		checkConsolePage(t, tt.name, tt.r)
		if m := errorCodeRE.FindSubmatch(tt.r.Body); m == nil || string(m[1]) != "forbidden" {
			t.Errorf("%s: not the forbidden page:\n%s", tt.name, tt.r.Body)
		}
	}
	if evs, _ := w.store.DeadLetters(context.Background(), 10); len(evs) != 1 {
		t.Fatalf("a refused action changed the dead letters: %d left", len(evs))
	}

	w.rcv.status.Store(http.StatusOK)
	r := op.post(t, replay, url.Values{"_csrf": {token}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin/events/"+w.eventID+"?replayed=1" {
		t.Fatalf("replay: %d %s\n%s", r.Status, r.Header.Get("Location"), r.Body)
	}
	gatewaytest.Eventually(t, 5*time.Second, "the replayed event delivered", func() bool {
		return strings.Contains(string(op.get(t, "/admin/events/"+w.eventID).Body), `id="event-state">delivered<`)
	})
	again := op.post(t, replay, url.Values{"_csrf": {token}})
	if m := errorCodeRE.FindSubmatch(again.Body); again.Status != http.StatusConflict || m == nil || string(m[1]) != "event_not_parked" {
		t.Errorf("replay of a delivered event: %d\n%s", again.Status, again.Body)
	}
	all := op.post(t, "/admin/dead-letters/replay", url.Values{"_csrf": {token}})
	if all.Status != http.StatusSeeOther || all.Header.Get("Location") != "/admin/dead-letters?replayed=0" {
		t.Errorf("replay all: %d %s", all.Status, all.Header.Get("Location"))
	}
	if n := w.rcv.got.Load(); n != 4 {
		t.Errorf("the receiver got %d deliveries, want the 3 refused and the replayed one", n)
	}
}
