package extension_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/akinon-gateway/gateway/cmd/checkout/chromium"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
)

// chromiumPath is the browser the console test drives: $CHROMIUM, or
// Debian's; the test is skipped without one (CI installs it).
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	path := chromium.Path()
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("no Chromium at %s (set CHROMIUM): %v", path, err)
	}
	return path
}

// consoleTab is a headless Chromium tab signed in as the operator, with
// the flags cmd/checkout runs it with (cmd/checkout/chromium).
type consoleTab struct {
	ctx   context.Context
	base  string
	shots string // CONSOLE_SCREENSHOTS: where each screen's PNG goes; "": none
}

func mustConsoleTab(tb testing.TB, base string) *consoleTab {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromium.Options(chromiumPath(tb), tb.TempDir(), 1280, 800)...)
	tab, cancelTab := chromedp.NewContext(alloc)
	tb.Cleanup(func() { cancelTab(); cancelAlloc() })
	// Basic auth as a browser sends it once the operator has signed in.
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(adminUser+":"+adminPassword))
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		tb.Fatalf("chromium: %v", err)
	}
	if _, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": auth}}); err != nil {
		tb.Fatalf("chromium: %v", err)
	}
	return &consoleTab{ctx: tab, base: base, shots: os.Getenv("CONSOLE_SCREENSHOTS")}
}

// open navigates to a path and waits for the page.
func (b *consoleTab) open(tb testing.TB, path string) {
	tb.Helper()
	b.follow(tb, "open "+path, chromedp.Navigate(b.base+path))
}

// follow runs an action that loads a page (a click on a link or a
// button) and waits for it; the page must be 200.
func (b *consoleTab) follow(tb testing.TB, what string, a chromedp.Action[chromedp.Void]) {
	tb.Helper()
	resp, err := chromedp.RunResponse(b.ctx, a)
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	if resp.Status != http.StatusOK {
		tb.Fatalf("%s: %d %s", what, resp.Status, resp.URL)
	}
}

// text is an element's text, trimmed.
func (b *consoleTab) text(tb testing.TB, sel string) string {
	tb.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// texts are the trimmed texts of every element a selector matches.
func (b *consoleTab) texts(tb testing.TB, sel string) []string {
	tb.Helper()
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll(`+jsString(sel)+`), e => e.textContent.trim())`))
	if err != nil {
		tb.Fatalf("texts of %s: %v", sel, err)
	}
	return out
}

// location is the page's path and query.
func (b *consoleTab) location(tb testing.TB) string {
	tb.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// screenshot saves the whole page as name.png under CONSOLE_SCREENSHOTS.
func (b *consoleTab) screenshot(tb testing.TB, name string) {
	tb.Helper()
	if b.shots == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// TestConsoleInChromium walks the console in headless Chromium as an
// operator does and reads the DOM each page reached: the overview's
// numbers, the search, an order paid, purchased and refunded with a
// refund in doubt (amounts, history with sub-steps, its webhook parked
// after three refused attempts), the dead letters, the replay button and
// the event it leads to, pending then delivered, and the in-doubt list.
// With CONSOLE_SCREENSHOTS=dir it saves each screen there (docs/ holds
// them).
func TestConsoleInChromium(t *testing.T) {
	chromiumPath(t)
	w := mustConsoleWorld(t)

	// A refund of 10.00 held inside the bank: reserved, and in doubt.
	entered, release := w.bank.hold(t, "Refund")
	var wg sync.WaitGroup
	var held *response
	wg.Go(func() { held = w.call(t, "/refund", body(refundBody("o-console", "refund-held", "10.00"))) })
	<-entered

	b := mustConsoleTab(t, w.URL)

	// The overview.
	b.open(t, "/admin/")
	for sel, want := range map[string]string{"#outbox-depth": "0", "#dead-letters": "1", "#in-doubt": "1", "#overdue": "0"} {
		if got := b.text(t, sel); got != want {
			t.Errorf("overview %s = %q, want %q", sel, got, want)
		}
	}
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.ID("orderId"), "o-console")); err != nil {
		t.Fatal(err)
	}
	b.screenshot(t, "console-home")

	// Search by order id: the order's page.
	b.follow(t, "search", chromedp.Click(chromedp.ID("find")))
	if loc := b.location(t); loc != "/admin/order?merchant=default&orderId=o-console" {
		t.Fatalf("the search led to %s", loc)
	}
	amounts := map[string]string{
		"#amount-asked": "100.00", "#amount-authorised": "100.00", "#amount-captured": "100.00",
		"#amount-refunded": "30.00", "#amount-reserved": "10.00", "#amount-balance": "70.00",
		"#phase": "PURCHASED", "#type": "SALE", "#installment": "1", "#card": "424242…4242",
	}
	for sel, want := range amounts {
		if got := b.text(t, sel); got != want {
			t.Errorf("order page %s = %q, want %q", sel, got, want)
		}
	}
	if got := b.texts(t, "#history tr.step td:first-child"); !slices.Equal(got, []string{"START", "PURCHASE", "REFUND"}) {
		t.Errorf("history rows %v, want START, PURCHASE, REFUND", got)
	}
	for _, status := range b.texts(t, "#history tr.step td:nth-child(3)") {
		if status != "RESOLVED / RESOLVED" {
			t.Errorf("a history row is %q", status)
		}
	}
	if subs := b.texts(t, "#history tr.substep td:nth-child(3)"); len(subs) != 3 || subs[0] != "00" {
		t.Errorf("sub-steps (processor codes) %v, want one per step, approved", subs)
	}
	if got := b.texts(t, "#events .event .state"); !slices.Equal(got, []string{"dead"}) {
		t.Errorf("webhook states %v, want one dead", got)
	}
	if got := b.texts(t, "#events tr.attempt td:nth-child(5)"); !slices.Equal(got, []string{"retry", "retry", "dead"}) {
		t.Errorf("attempt outcomes %v, want retry, retry, dead", got)
	}
	if got := b.texts(t, "#events tr.attempt td:nth-child(3)"); !slices.Equal(got, []string{"503", "503", "503"}) {
		t.Errorf("attempt statuses %v", got)
	}
	if got := b.texts(t, "#events tr.attempt td:nth-child(8)"); len(got) != 3 || got[0] != "replica-a" {
		t.Errorf("attempt replicas %v", got)
	}
	if got := b.texts(t, "#doubts tr.doubt"); len(got) != 1 || !strings.Contains(got[0], "REFUND") || !strings.Contains(got[0], "refund-held") {
		t.Errorf("in doubt for the order: %q", got)
	}
	b.screenshot(t, "console-order")

	// The dead letters, and the replay button.
	b.follow(t, "dead letters", chromedp.Click(chromedp.CSS(`header nav a[href="/admin/dead-letters"]`)))
	if got := b.texts(t, "#dead-letters tr.dead td:first-child"); !slices.Equal(got, []string{w.eventID}) {
		t.Fatalf("dead letters %v, want %s", got, w.eventID)
	}
	b.screenshot(t, "console-dead-letters")
	w.rcv.status.Store(http.StatusOK)
	b.follow(t, "replay", chromedp.Click(chromedp.CSS(`#dead-letters tr[data-event="`+w.eventID+`"] button.replay`)))
	if loc := b.location(t); loc != "/admin/events/"+w.eventID+"?replayed=1" {
		t.Fatalf("the replay led to %s", loc)
	}
	if flash := b.text(t, "#flash"); !strings.HasPrefix(flash, "Replayed") {
		t.Errorf("flash %q", flash)
	}
	if state := b.text(t, "#event-state"); state != "pending" && state != "delivered" {
		t.Errorf("right after the replay the event is %q, want pending (or already delivered)", state)
	}
	gatewaytest.Eventually(t, 10*time.Second, "the replayed event delivered", func() bool {
		b.open(t, "/admin/events/"+w.eventID)
		return b.text(t, "#event-state") == "delivered"
	})
	if got := b.texts(t, "tr.attempt td:nth-child(5)"); !slices.Equal(got, []string{"retry", "retry", "dead", "delivered"}) {
		t.Errorf("the event's attempts %v", got)
	}
	if body := b.text(t, "#event-body"); !strings.Contains(body, `"orderId": "o-console"`) || !strings.Contains(body, `"eventId": "`+w.eventID+`"`) {
		t.Errorf("the event's body:\n%s", body)
	}
	b.screenshot(t, "console-event")
	b.open(t, "/admin/dead-letters")
	if got := b.text(t, "#no-dead-letters"); got != "No dead letters." {
		t.Errorf("after the replay the list says %q", got)
	}

	// What is in doubt.
	b.follow(t, "in doubt", chromedp.Click(chromedp.CSS(`header nav a[href="/admin/in-doubt"]`)))
	if got := b.text(t, "#doubt-summary"); got != "1 in doubt, 0 overdue." {
		t.Errorf("in-doubt summary %q", got)
	}
	if got := b.texts(t, "#doubts tr.doubt td:nth-child(2)"); !slices.Equal(got, []string{"REFUND"}) {
		t.Errorf("in doubt: %v", got)
	}
	b.screenshot(t, "console-doubts")

	release()
	wg.Wait()
	if held.Status != http.StatusOK {
		t.Fatalf("the held refund: %s", held)
	}
}
