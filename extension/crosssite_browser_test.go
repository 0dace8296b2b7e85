package extension_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/akinon-gateway/gateway/cmd/checkout/chromium"
)

// TestCrossSiteFormCannotReplay: an operator signed in to the console in
// Chromium (its Basic credentials cached by the browser), then a page of
// another site auto-submits a form at each state-changing operator
// endpoint. The browser sends the cached credentials; the gateway answers
// 403 and replays nothing.
func TestCrossSiteFormCannotReplay(t *testing.T) {
	path := chromiumPath(t)
	w := mustConsoleWorld(t)

	// The other site: a page on another address that posts a form.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no loopback alias 127.0.0.2 to serve another site from: %v", err)
	}
	target := ""
	var mu sync.Mutex
	evil := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		action := target
		mu.Unlock()
		rw.Header().Set("Content-Type", "text/html")
		_, _ = rw.Write([]byte(`<!doctype html><form method="POST" action="` + action + `"><input name="x" value="1"></form><script>document.forms[0].submit()</script>`))
	})}
	go func() { _ = evil.Serve(ln) }()
	t.Cleanup(func() { evil.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromium.Options(path, t.TempDir(), 1280, 800)...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()

	type seen struct {
		status int
		auth   bool
		site   string
	}
	var smu sync.Mutex
	got := map[string]*seen{}
	ids := map[network.RequestID]string{}
	listen := chromedp.Listen(tab, func(ev any) {
		smu.Lock()
		defer smu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.Contains(e.Request.URL, "/replay") {
				ids[e.RequestID] = e.Request.URL
				got[e.Request.URL] = &seen{}
			}
		case *network.EventRequestWillBeSentExtraInfo:
			if u, ok := ids[e.RequestID]; ok {
				_, got[u].auth = e.Headers["Authorization"]
				got[u].site, _ = e.Headers["Sec-Fetch-Site"].(string)
			}
		case *network.EventResponseReceived:
			if u, ok := ids[e.RequestID]; ok {
				got[u].status = int(e.Response.Status)
			}
		}
	})
	if listen != nil {
		t.Fatalf("chromium: %v", listen)
	}
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	// Signing in: the credentials in the address, as a browser caches
	// them once typed into its prompt.
	u, _ := url.Parse(w.URL)
	signIn := u.Scheme + "://" + adminUser + ":" + adminPassword + "@" + u.Host + "/admin/"
	if resp, err := chromedp.RunResponse(tab, chromedp.Navigate(signIn)); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("signing in to /admin/: %v %v", resp, err)
	}

	for _, endpoint := range []string{"/admin/webhooks/dead/replay", "/admin/webhooks/events/" + w.eventID + "/replay",
		"/admin/dead-letters/replay", "/admin/events/" + w.eventID + "/replay"} {
		mu.Lock()
		target = w.URL + endpoint
		mu.Unlock()
		if _, err := chromedp.Run(tab, chromedp.Navigate("http://"+ln.Addr().String()+"/")); err != nil {
			t.Fatalf("the other site: %v", err)
		}
		var s seen
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			smu.Lock()
			if g := got[w.URL+endpoint]; g != nil && g.status != 0 {
				s = *g
			}
			smu.Unlock()
			if s.status != 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("cross-site form POST %s: %d (credentials sent: %v, Sec-Fetch-Site: %s)", endpoint, s.status, s.auth, s.site)
		if !s.auth {
			t.Errorf("%s: the browser did not send the cached credentials; the test proves nothing", endpoint)
		}
		if s.status != http.StatusForbidden {
			t.Errorf("a cross-site form at %s: %d, want 403", endpoint, s.status)
		}
	}
	if evs, err := w.store.DeadLetters(context.Background(), 10); err != nil || len(evs) != 1 {
		t.Fatalf("after the cross-site forms the dead letters are %d (%v), want the one still parked", len(evs), err)
	}
}
