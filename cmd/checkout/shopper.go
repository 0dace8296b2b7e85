package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
	"github.com/akinon-gateway/gateway/cmd/checkout/hostedpage"
)

// Payment is what the shopper types on the hosted page.
type Payment struct {
	CardHolder  string
	CardNumber  string
	Expiry      string // MM/YY; empty: a year from now
	CVC         string
	Installment int    // 0 or 1: single payment
	ThreeDSCode string // typed if the bank asks
	// AbandonAtBank leaves the bank's 3-D Secure page unanswered: the
	// walk ends there with errAbandoned.
	AbandonAtBank bool
}

// errAbandoned ends a walk the shopper gave up at the bank on purpose.
var errAbandoned = errors.New("the shopper left the bank's 3-D Secure page unanswered")

func (p Payment) expiry() string {
	if p.Expiry != "" {
		return p.Expiry
	}
	return time.Now().AddDate(1, 0, 0).Format("01/06")
}

func (p Payment) holder() string { return or(p.CardHolder, "Ayşe Yılmaz") }
func (p Payment) cvc() string    { return or(p.CVC, "123") }

// Visit is what the shopper went through and where it ended.
type Visit struct {
	Page        string              // page_name the shopper ended on
	OrderNumber string              // the order number the thank-you page shows
	Errors      map[string][]string // errors of the last checkout page
	Screens     []string            // hosted-page screens passed, in order
	Pages       []string            // the URLs from the hosted page to the return, in order (no query)
	Shop        time.Duration       // checkout pages up to the redirect (start-session included)
	Hosted      time.Duration       // on the gateway's pages
	Return      time.Duration       // the return POST up to the last page (purchase included)
	Screenshots []string            // files, browser mode
	FinalDOM    string              // file holding the last page's DOM, browser mode
}

// phaseError says in which part of the walk a checkout failed.
type phaseError struct {
	Phase string // "shop", "hosted-page" or "return"
	Err   error
}

func (e *phaseError) Error() string { return e.Phase + ": " + e.Err.Error() }
func (e *phaseError) Unwrap() error { return e.Err }

// Shopper walks a checkout from the shop's checkout URL to the last page.
type Shopper interface {
	Checkout(ctx context.Context, shop *commerce.Shop, o *commerce.Order, p Payment, shots *shots) (Visit, error)
	Close() error
}

// httpShopper is a cookie-keeping HTTP client, as a storefront's XHR
// calls and a browser's form posts would go.
type httpShopper struct {
	transport http.RoundTripper
}

var _ Shopper = (*httpShopper)(nil)

func newHTTPShopper() *httpShopper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	return &httpShopper{transport: tr}
}

func (h *httpShopper) Close() error { return nil }

// Checkout enters with the checkout URL, chooses redirection, pays on the
// gateway's page and follows the return POST back to the shop.
func (h *httpShopper) Checkout(ctx context.Context, shop *commerce.Shop, o *commerce.Order, p Payment, _ *shots) (Visit, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: h.transport, Timeout: 30 * time.Second}
	var v Visit

	t0 := time.Now()
	page, err := h.shopPage(ctx, c, http.MethodGet, shop.CheckoutURL(o), nil)
	if err == nil {
		err = expectPage(page, commerce.PagePaymentOptionSelection)
	}
	if err == nil {
		page, err = h.shopPage(ctx, c, http.MethodPost, shop.PublicURL()+commerce.PathCheckout+"?page="+commerce.PagePaymentOptionSelection,
			url.Values{"payment_option": {"redirection"}})
	}
	if err == nil {
		err = expectPage(page, commerce.PageRedirectionPaymentSelected)
	}
	var redirect commerce.RedirectionPaymentSelectedContext
	if err == nil {
		if err = page.Decode(&redirect); err == nil && redirect.RedirectURL == "" {
			err = fmt.Errorf("%s has no redirect_url", commerce.PageRedirectionPaymentSelected)
		}
	}
	v.Shop = time.Since(t0)
	if err != nil {
		return v, &phaseError{"shop", err}
	}

	t1 := time.Now()
	ret, screens, err := payOnHostedPage(ctx, c, redirect.RedirectURL, p, &v.Pages)
	v.Hosted, v.Screens = time.Since(t1), screens
	if err != nil {
		return v, &phaseError{"hosted-page", err}
	}

	t2 := time.Now()
	page, err = h.shopPage(ctx, c, http.MethodPost, ret.Action, ret.Fields)
	v.Return = time.Since(t2)
	if err != nil {
		return v, &phaseError{"return", err}
	}
	v.Page, v.Errors = page.Name(), page.Errors
	if v.Page == commerce.PageThankYou {
		var ty commerce.ThankYouContext
		if err := page.Decode(&ty); err != nil {
			return v, &phaseError{"return", err}
		}
		v.OrderNumber = ty.OrderNumber
	}
	return v, nil
}

// shopPage asks the shop for a checkout page as JSON, the way Akinon's
// storefront does (x-requested-with: XMLHttpRequest); a form post that the
// shop answers with a redirect is followed with the same header.
func (h *httpShopper) shopPage(ctx context.Context, c *http.Client, method, target string, form url.Values) (*commerce.Page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var p commerce.Page
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d, not a checkout page: %.200s", method, resp.Request.URL.Path, resp.StatusCode, raw)
	}
	if resp.StatusCode >= 400 && p.Name() == "" {
		return &p, fmt.Errorf("%s %s: HTTP %d: %v", method, resp.Request.URL.Path, resp.StatusCode, p.Errors)
	}
	return &p, nil
}

func expectPage(p *commerce.Page, want string) error {
	if got := p.Name(); got != want {
		return fmt.Errorf("reached %q, want %q (errors: %v)", got, want, p.Errors)
	}
	return nil
}

// payOnHostedPage goes through the gateway's screens, and the bank's
// 3-D Secure pages, until the return form and returns it, noting each
// page's URL in pages. A processing screen is reloaded after the Refresh
// delay it names, as a browser does; the context's deadline bounds the
// wait.
func payOnHostedPage(ctx context.Context, c *http.Client, start string, p Payment, pages *[]string) (*hostedpage.Form, []string, error) {
	var screens []string
	w := &httpWalk{p: p}
	resp, err := get(ctx, c, start)
	for {
		if err != nil {
			return nil, screens, err
		}
		page, perr := hostedpage.Read(resp)
		if perr != nil {
			return nil, screens, perr
		}
		here, refresh := resp.Request.URL, resp.Header.Get("Refresh")
		*pages = append(*pages, here.Scheme+"://"+here.Host+here.Path)
		kind, form := page.Kind(refresh)
		if kind != hostedpage.KindBank { // a form that submits itself is no screen the shopper sees
			screens = append(screens, string(kind))
		}
		switch kind {
		case hostedpage.KindReturn:
			f, err := returnForm(here, form)
			return f, screens, err
		case hostedpage.KindProcessing:
			if err := waitRefresh(ctx, refresh); err != nil {
				return nil, screens, err
			}
			resp, err = get(ctx, c, here.String())
			continue
		}
		if err := w.fill(kind, form, resp, page); err != nil {
			return nil, screens, err
		}
		resp, err = post(ctx, c, here, form)
	}
}

// httpWalk is what a shopper has sent on the way through the hosted page, so
// that a screen coming back is a failure rather than a loop.
type httpWalk struct {
	p                  Payment
	cardSent, codeSent bool
	hops               int // bank forms submitted as they stand
}

// fill answers a screen that asks for something: the card, the 3-D
// Secure code, or a bank form the page's script submits as it stands.
func (w *httpWalk) fill(kind hostedpage.Kind, form *hostedpage.Form, resp *http.Response, page *hostedpage.Page) error {
	switch kind {
	case hostedpage.KindCard:
		if w.cardSent {
			return fmt.Errorf("the card form came back (HTTP %d): %v", resp.StatusCode, page.Errors)
		}
		w.cardSent = true
		return fillCard(form, w.p)
	case hostedpage.KindBank:
		if w.hops++; w.hops > 4 {
			return fmt.Errorf("sent between the gateway and the bank %d times", w.hops)
		}
		return nil
	case hostedpage.KindThreeDS:
		if w.p.AbandonAtBank {
			return errAbandoned
		}
		if err := codeOnce(w.codeSent, resp.StatusCode, w.p); err != nil {
			return err
		}
		w.codeSent = true
		form.Fields.Set("code", w.p.ThreeDSCode)
		return nil
	}
	return fmt.Errorf("HTTP %d at %s: %q", resp.StatusCode, resp.Request.URL.Path, page.Title)
}

// returnForm is the return form, its action made absolute against here.
func returnForm(here *url.URL, form *hostedpage.Form) (*hostedpage.Form, error) {
	action, err := here.Parse(form.Action)
	if err != nil {
		return nil, fmt.Errorf("return form action %q: %w", form.Action, err)
	}
	form.Action = action.String()
	return form, nil
}

// codeOnce says whether the 3-D Secure form may be answered: once, and
// with the payment's code.
func codeOnce(sent bool, status int, p Payment) error {
	if sent {
		return fmt.Errorf("the 3-D Secure form came back (HTTP %d)", status)
	}
	if p.ThreeDSCode == "" {
		return fmt.Errorf("the bank asks for a 3-D Secure code and the payment has none")
	}
	return nil
}

// waitRefresh waits the delay a Refresh header names (a second at
// least), or until ctx ends.
func waitRefresh(ctx context.Context, refresh string) error {
	secs, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(refresh, ";", 2)[0]))
	t := time.NewTimer(time.Duration(max(secs, 1)) * time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("still processing when the deadline came: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// fillCard types the card into the form; the anti-forgery field and any
// other hidden value stay as the page set them.
func fillCard(form *hostedpage.Form, p Payment) error {
	form.Fields.Set("cardHolder", p.holder())
	form.Fields.Set("cardNumber", p.CardNumber)
	form.Fields.Set("expiry", p.expiry())
	form.Fields.Set("cvc", p.cvc())
	if p.Installment > 1 {
		want := strconv.Itoa(p.Installment)
		offered := form.Selects["installment"]
		found := false
		for _, o := range offered {
			found = found || o == want
		}
		if !found {
			return fmt.Errorf("installment %s is not offered (choices: %v)", want, offered)
		}
		form.Fields.Set("installment", want)
	}
	return nil
}

func get(ctx context.Context, c *http.Client, target string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

// post submits a form the way a browser does; the client follows the
// gateway's 303 to the next screen.
func post(ctx context.Context, c *http.Client, base *url.URL, f *hostedpage.Form) (*http.Response, error) {
	action, err := base.Parse(f.Action)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(f.Fields.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}
