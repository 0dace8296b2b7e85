package commerce

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/hashing"
)

func TestReturnURL(t *testing.T) {
	cases := []struct {
		name       string
		scheme     hashing.Scheme // the shop's; the POST is signed with it too unless signKey says
		signKey    string
		change     func(url.Values) // before signing
		tamper     func(url.Values) // after signing
		wantPage   string
		wantStatus OrderStatus
		wantIssue  string // in Return.Problem
	}{
		{name: "resolved", wantPage: PageThankYou, wantStatus: OrderAuthorised},
		{name: "resolved, sha512-keylast", scheme: hashing.SchemeSHA512KeyLast, wantPage: PageThankYou, wantStatus: OrderAuthorised},
		{name: "resolved in 3 installments with interest", change: func(f url.Values) { f.Set("installment", "3"); f.Set("amount", "103.50") },
			wantPage: PageThankYou, wantStatus: OrderAuthorised},
		{name: "pending", change: func(f url.Values) { f.Set("status", StatusPending); f.Set("subStatus", "PAYMENT_WAITING") },
			wantPage: PageThankYou, wantStatus: OrderWaitingPayment},
		{name: "rejected risky", change: func(f url.Values) { f.Set("status", StatusRejected); f.Set("subStatus", "RISKY") },
			wantPage: PagePaymentOptionSelection, wantStatus: OrderPaymentFailed},
		{name: "hash of another key", signKey: "another-key-0123456789abcdef0123456789ab",
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "bad hash"},
		{name: "amount changed after signing", tamper: func(f url.Values) { f.Set("amount", "1.00") },
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "bad hash"},
		{name: "status changed after signing", tamper: func(f url.Values) { f.Set("status", StatusResolved); f.Set("subStatus", "RESOLVED") },
			change:   func(f url.Values) { f.Set("status", StatusRejected); f.Set("subStatus", "PROCESSING_ERROR") },
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "bad hash"},
		{name: "other scheme", scheme: hashing.SchemeHMACSHA512, signKey: "keylast",
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "bad hash"},
		{name: "hash missing", tamper: func(f url.Values) { f.Del("hash") },
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "field hash is missing"},
		{name: "another session", change: func(f url.Values) { f.Set("sessionId", "sess-old") },
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "not the order's current session"},
		{name: "less than the order", change: func(f url.Values) { f.Set("amount", "99.99") },
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "less than"},
		{name: "one decimal", change: func(f url.Values) { f.Set("amount", "100.0") },
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "exactly 2 decimals"},
		{name: "other currency", change: func(f url.Values) { f.Set("currency", "EUR") },
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "currency"},
		{name: "no such pair", change: func(f url.Values) { f.Set("subStatus", "RISKY") },
			wantPage: PagePaymentOptionSelection, wantStatus: OrderRedirected, wantIssue: "not a status pair"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustShop(t, func(c *Config) { c.HashScheme = tc.scheme })
			o := mustRedirectedOrder(t, s, OrderSpec{}, "sess-1")
			signWith, key := tc.scheme, testHashKey
			if tc.signKey == "keylast" {
				signWith = hashing.SchemeSHA512KeyLast
			} else if tc.signKey != "" {
				key = tc.signKey
			}
			if signWith == "" {
				signWith = hashing.DefaultScheme
			}
			f := returnFields(o, key, signWith, tc.change)
			if tc.tamper != nil {
				tc.tamper(f)
			}
			w := serve(t, s, postForm(PathReturn, f))
			if w.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303: %s", w.Code, w.Body)
			}
			if loc, want := w.Header().Get("Location"), PathCheckout+"?page="+tc.wantPage; loc != want {
				t.Errorf("Location %q, want %q", loc, want)
			}
			v := o.View()
			if v.Status != tc.wantStatus {
				t.Errorf("order status %s, want %s", v.Status, tc.wantStatus)
			}
			if v.Return == nil || v.Returns != 1 {
				t.Fatalf("return not recorded: %+v", v)
			}
			if v.Return.Verified != (tc.wantIssue == "") || !strings.Contains(v.Return.Problem, tc.wantIssue) {
				t.Errorf("verified %v, problem %q; want problem containing %q", v.Return.Verified, v.Return.Problem, tc.wantIssue)
			}
			if tc.wantPage == PagePaymentOptionSelection && len(v.Errors["non_field_errors"]) == 0 {
				t.Errorf("no error for the payment options page")
			}
			if v.Purchase != nil {
				t.Errorf("a manual-capture order was purchased: %+v", v.Purchase)
			}
		})
	}
}

func TestReturnURLUnknownOrder(t *testing.T) {
	s := mustShop(t)
	w := serve(t, s, postForm(PathReturn, url.Values{"orderId": {"ON-nope"}}))
	if w.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404", w.Code)
	}
}

// A forged return after a real one must not undo a paid order.
func TestReturnURLForgeryAfterPayment(t *testing.T) {
	s := mustShop(t)
	o := mustRedirectedOrder(t, s, OrderSpec{}, "sess-1")
	serve(t, s, postForm(PathReturn, returnFields(o, testHashKey, hashing.DefaultScheme, nil)))
	forged := returnFields(o, "forger-key-0123456789abcdef0123456789abc", hashing.DefaultScheme, func(f url.Values) {
		f.Set("status", StatusRejected)
		f.Set("subStatus", "RISKY")
	})
	w := serve(t, s, postForm(PathReturn, forged))
	if loc := w.Header().Get("Location"); !strings.HasSuffix(loc, PageThankYou) {
		t.Errorf("Location %q, want the thank-you page of the paid order", loc)
	}
	if v := o.View(); v.Status != OrderAuthorised || v.Returns != 2 || len(v.Errors) != 0 {
		t.Errorf("after a forged return: status %s, %d returns, errors %v", v.Status, v.Returns, v.Errors)
	}
}
