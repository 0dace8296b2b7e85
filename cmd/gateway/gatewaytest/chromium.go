package gatewaytest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/akinon-gateway/gateway/cmd/checkout/chromium"
)

// ReturnURL is where StartBody's sessions send the shopper back; nothing
// listens there, so a test reads the return from the browser's request.
const ReturnURL = "http://127.0.0.1:9/return"

// Chromium is a shopper in headless Chromium (the checkout driver's
// browser): the hosted page's scripts run as they do for a shopper.
type Chromium struct{ b *chromium.Browser }

// NewChromium starts Chromium for the test, which is skipped when
// Chromium is not installed; cleanup stops it.
func NewChromium(tb testing.TB) *Chromium {
	tb.Helper()
	if _, err := os.Stat(chromium.Path()); err != nil {
		tb.Skipf("no Chromium at %s (set CHROMIUM)", chromium.Path())
	}
	b, err := chromium.Start(context.Background(), chromium.Path(), 1280, 800, 30*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return &Chromium{b: b}
}

// Pay opens the hosted page at redirect in a tab of its own, types card
// and pays, and returns the fields the page posts back to ReturnURL.
func (c *Chromium) Pay(tb testing.TB, redirect, card string) url.Values {
	tb.Helper()
	tab, cancel := chromedp.NewContext(c.b.Ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	ctx, stop := context.WithTimeout(tab, 60*time.Second)
	defer stop()
	back := make(chan url.Values, 1)
	listen := chromedp.Listen(tab, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.HasPrefix(e.Request.URL, ReturnURL) {
			var body strings.Builder
			for _, p := range e.Request.PostDataEntries {
				body.Write(p.Bytes)
			}
			fields, _ := url.ParseQuery(body.String())
			select {
			case back <- fields:
			default:
			}
		}
	})
	if listen != nil {
		tb.Fatalf("chromium: %v", listen)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		tb.Fatalf("chromium: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(redirect),
		chromedp.SendKeys(chromedp.ID("cardHolder"), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.ID("cardNumber"), card),
		chromedp.SendKeys(chromedp.ID("expiry"), "12/39"),
		chromedp.SendKeys(chromedp.ID("cvc"), "123"),
		chromedp.Click(chromedp.ID("pay")),
	); err != nil {
		tb.Fatalf("paying at %s in Chromium: %v", redirect, err)
	}
	select {
	case fields := <-back:
		return fields
	case <-ctx.Done():
		tb.Fatalf("paying at %s in Chromium: no return to %s: %v", redirect, ReturnURL, ctx.Err())
		return nil
	}
}
