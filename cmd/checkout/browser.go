package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/akinon-gateway/gateway/cmd/checkout/chromium"
	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
	"github.com/akinon-gateway/gateway/cmd/checkout/hostedpage"
)

// browserShopper drives headless Chromium through the checkout: the
// shop's pages, the gateway's card form, the 3-D Secure step, the return
// and the thank-you page, with a screenshot of each step.
type browserShopper struct {
	*chromium.Browser
	// step bounds one wait for a page, well inside a scenario's deadline.
	step time.Duration
}

var _ Shopper = (*browserShopper)(nil)

// newBrowserShopper starts Chromium with a fresh profile directory.
func newBrowserShopper(ctx context.Context, exec string) (*browserShopper, error) {
	b, err := chromium.Start(ctx, exec, 760, 680, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w (set -chromium)", err)
	}
	return &browserShopper{Browser: b, step: 30 * time.Second}, nil
}

// Checkout walks one order in its own browser context (its own cookies).
func (b *browserShopper) Checkout(ctx context.Context, shop *commerce.Shop, o *commerce.Order, p Payment, sh *shots) (v Visit, err error) {
	tab, cancel := chromedp.NewContext(b.Ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	w := &walker{tab: tab, shop: strings.TrimRight(shop.PublicURL(), "/"), shots: sh, step: b.step}
	defer func() { v.Screenshots = w.files }()
	// Every page the tab loads, the ones that submit themselves at once
	// included: the trip to the bank's origin and back shows here.
	var mu sync.Mutex
	var loaded []string
	if err := chromedp.Listen(tab, func(ev any) {
		if nav, ok := ev.(*page.EventFrameNavigated); ok && nav.Frame.ParentID == "" {
			mu.Lock()
			loaded = append(loaded, nav.Frame.URL)
			mu.Unlock()
		}
	}); err != nil {
		return v, &phaseError{"shop", fmt.Errorf("chromium: %w", err)}
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		v.Pages = hostedPages(loaded, w.shop)
	}()

	t0 := time.Now()
	err = w.shopSteps(shop.CheckoutURL(o))
	v.Shop = time.Since(t0)
	if err != nil {
		return v, &phaseError{"shop", err}
	}
	t1 := time.Now()
	state, screens, err := w.hostedSteps(p)
	v.Hosted, v.Screens = time.Since(t1), screens
	if err != nil {
		return v, &phaseError{"hosted-page", err}
	}
	t2 := time.Now()
	err = w.finalPage(state, &v)
	v.Return = time.Since(t2)
	if err != nil {
		return v, &phaseError{"return", err}
	}
	return v, nil
}

// hostedPages are the URLs loaded from the first page off the shop's
// origin to the first page back on it, without their queries.
func hostedPages(loaded []string, shop string) []string {
	var out []string
	for _, u := range loaded {
		off := !strings.HasPrefix(u, shop+"/") && u != shop
		if !off && len(out) > 0 {
			break
		}
		if off {
			out = append(out, strings.SplitN(u, "?", 2)[0])
		}
	}
	return out
}

// walker is one tab's walk.
type walker struct {
	tab   context.Context
	shop  string // origin of the shop
	shots *shots
	step  time.Duration
	files []string
}

func (w *walker) shopSteps(checkoutURL string) error {
	if err := w.navigate(chromedp.Navigate(checkoutURL)); err != nil {
		return err
	}
	if _, err := w.waitState("shop:" + commerce.PagePaymentOptionSelection); err != nil {
		return err
	}
	if err := w.screenshot("payment-options"); err != nil {
		return err
	}
	if err := chromedp.Do(w.tab, chromedp.Click(chromedp.ID("option-redirection"))); err != nil {
		return fmt.Errorf("choose redirection: %w", err)
	}
	if err := w.navigate(chromedp.Click(chromedp.ID("continue"))); err != nil {
		return err
	}
	if _, err := w.waitState("shop:" + commerce.PageRedirectionPaymentSelected); err != nil {
		return err
	}
	if err := w.screenshot("redirect-to-bank"); err != nil {
		return err
	}
	return w.navigate(chromedp.Click(chromedp.ID("redirect")))
}

// hostedSteps types the card (and the 3-D Secure code) on the gateway's
// pages and waits for the shop's page the return leads to.
func (w *walker) hostedSteps(p Payment) (string, []string, error) {
	var screens []string
	if _, err := w.waitState("card"); err != nil {
		return "", screens, err
	}
	screens = append(screens, string(hostedpage.KindCard))
	if err := w.typeCard(p); err != nil {
		return "", screens, err
	}
	if err := w.screenshot("card-form"); err != nil {
		return "", screens, err
	}
	if err := w.navigate(chromedp.Click(chromedp.ID("pay"))); err != nil {
		return "", screens, err
	}
	codeSent := false
	for {
		state, err := w.waitState("")
		if err != nil {
			return "", screens, err
		}
		switch {
		case strings.HasPrefix(state, "shop:"):
			screens = append(screens, string(hostedpage.KindReturn))
			return state, screens, nil
		case state == "3ds" && !codeSent:
			screens = append(screens, string(hostedpage.KindThreeDS))
			if p.AbandonAtBank {
				if err := w.screenshot("3-d-secure-abandoned"); err != nil {
					return "", screens, err
				}
				return "", screens, errAbandoned
			}
			codeSent = true
			if err := w.typeCode(p); err != nil {
				return "", screens, err
			}
		default:
			_ = w.screenshot("unexpected")
			return "", screens, fmt.Errorf("the gateway showed %q", state)
		}
	}
}

// typeCard fills the card form, the installment chosen when there is one.
func (w *walker) typeCard(p Payment) error {
	if err := chromedp.Do(w.tab,
		chromedp.SendKeys(chromedp.ID("cardHolder"), p.holder()),
		chromedp.SendKeys(chromedp.ID("cardNumber"), p.CardNumber),
		chromedp.SendKeys(chromedp.ID("expiry"), p.expiry()),
		chromedp.SendKeys(chromedp.ID("cvc"), p.cvc()),
	); err != nil {
		return fmt.Errorf("type the card: %w", err)
	}
	if p.Installment <= 1 {
		return nil
	}
	offered, err := chromedp.Run(w.tab, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('select#installment option')).map(o => o.value)`))
	if err != nil {
		return err
	}
	want := strconv.Itoa(p.Installment)
	if !slices.Contains(offered, want) {
		return fmt.Errorf("installment %s is not offered (choices: %v)", want, offered)
	}
	return chromedp.Do(w.tab, chromedp.SetValue(chromedp.ID("installment"), want))
}

// typeCode answers the 3-D Secure page with the payment's code.
func (w *walker) typeCode(p Payment) error {
	if p.ThreeDSCode == "" {
		return errors.New("the bank asks for a 3-D Secure code and the payment has none")
	}
	if err := chromedp.Do(w.tab, chromedp.SendKeys(chromedp.ID("code"), p.ThreeDSCode)); err != nil {
		return err
	}
	if err := w.screenshot("3-d-secure"); err != nil {
		return err
	}
	return w.navigate(chromedp.Click(chromedp.ID("verify")))
}

// finalPage reads where the return led: the page's JSON and, on the
// thank-you page, the order number as the DOM shows it.
func (w *walker) finalPage(state string, v *Visit) error {
	v.Page = strings.TrimPrefix(state, "shop:")
	raw, err := chromedp.Run(w.tab, chromedp.Evaluate[string](`document.getElementById('page-json').textContent`))
	if err != nil {
		return fmt.Errorf("read the page's JSON: %w", err)
	}
	var page commerce.Page
	if err := json.Unmarshal([]byte(raw), &page); err != nil {
		return fmt.Errorf("the page's JSON: %w", err)
	}
	v.Errors = page.Errors
	name := "payment-failed"
	if v.Page == commerce.PageThankYou {
		name = "thank-you"
		if v.OrderNumber, err = chromedp.Run(w.tab, chromedp.Text(chromedp.ID("order-number"))); err != nil {
			return fmt.Errorf("read #order-number: %w", err)
		}
		v.OrderNumber = strings.TrimSpace(v.OrderNumber)
	}
	if err := w.screenshot(name); err != nil {
		return err
	}
	dom, err := chromedp.Run(w.tab, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		return fmt.Errorf("read the DOM: %w", err)
	}
	if w.shots != nil {
		path := w.shots.path(name + ".html")
		if err := os.WriteFile(path, []byte(dom), 0o644); err != nil {
			return err
		}
		v.FinalDOM = path
	}
	return nil
}

// stateJS names the screen the tab shows.
const stateJS = `(() => {
  if (document.readyState !== 'complete' || window.__checkoutSeen) return '';
  if (location.origin === %q) {
    const m = document.querySelector('main[data-page]');
    return m ? 'shop:' + m.dataset.page : '';
  }
  if (document.getElementById('code')) return '3ds';
  if (document.getElementById('cardNumber')) return document.querySelector('[id^="err-"]') ? 'card refused' : 'card';
  const msg = document.getElementById('message');
  if (msg) return 'message: ' + msg.textContent.trim();
  return ''; // processing (it reloads itself) or the return page (it posts itself)
})()`

// waitState waits until the tab shows a screen (want, or any when want is
// empty) in a document this walker has not acted on yet.
func (w *walker) waitState(want string) (string, error) {
	deadline := time.Now().Add(w.step)
	expr := fmt.Sprintf(stateJS, w.shop)
	var last string
	var lastErr error
	for {
		state, err := chromedp.Run(w.tab, chromedp.Evaluate[string](expr))
		if err == nil && state != "" {
			last = state
			if want == "" || state == want {
				return state, nil
			}
			if strings.HasPrefix(state, "shop:") || strings.HasPrefix(state, "message") || state == "card refused" {
				return state, fmt.Errorf("reached %q, want %q", state, want)
			}
		}
		if err != nil {
			lastErr = err // a document being replaced; try again
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("waited %s for %q; last seen %q (%v)", w.step, or(want, "a page"), last, lastErr)
		}
		if err := sleepCtx(w.tab, 50*time.Millisecond); err != nil {
			return last, err
		}
	}
}

// navigate runs an action that leaves the page. The old document is
// marked first, so waitState never takes its leftovers for the next page.
func (w *walker) navigate(a chromedp.Action[chromedp.Void]) error {
	if err := chromedp.Do(w.tab, chromedp.Evaluate[chromedp.Void](`window.__checkoutSeen = true`)); err != nil {
		return fmt.Errorf("mark the page: %w", err)
	}
	return chromedp.Do(w.tab, a)
}

func (w *walker) screenshot(name string) error {
	if w.shots == nil {
		return nil
	}
	png, err := chromedp.Run(w.tab, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	path := w.shots.path(name + ".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return err
	}
	w.files = append(w.files, path)
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// shots names the screenshot files of one scenario: DIR/<scenario>/NN-step.
type shots struct {
	dir    string
	prefix string
	n      int
}

func newShots(outDir, scenario string) (*shots, error) {
	dir := filepath.Join(outDir, url.PathEscape(scenario))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &shots{dir: dir}, nil
}

// next starts the files of another checkout in the same scenario.
func (s *shots) next(i int) {
	if s != nil && i > 1 {
		s.prefix, s.n = fmt.Sprintf("order%d-", i), 0
	}
}

func (s *shots) path(name string) string {
	s.n++
	return filepath.Join(s.dir, fmt.Sprintf("%s%02d-%s", s.prefix, s.n, name))
}
