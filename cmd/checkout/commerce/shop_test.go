package commerce

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The checkout pages answer in the seed's shapes: these are the keys
// Akinon's storefront reads.
func TestCheckoutPages(t *testing.T) {
	topKeys := []string{"context_list", "errors", "pre_order", "template_name"}
	cases := []struct {
		name        string
		status      OrderStatus // the order's, before the request
		method      string
		page        string
		form        url.Values
		noCookie    bool
		wantCode    int
		wantPage    string
		wantContext []string // page_context keys
		wantErrors  string   // a key of errors, "" for null
	}{
		{name: "payment options", method: "GET", page: PagePaymentOptionSelection, wantCode: 200,
			wantPage: PagePaymentOptionSelection, wantContext: []string{"checkout_url", "payment_options", "status_url", "unavailable_options"}},
		{name: "an option the shop does not serve", method: "POST", page: PagePaymentOptionSelection,
			form: url.Values{"payment_option": {"credit_card"}}, wantCode: 400, wantPage: PagePaymentOptionSelection,
			wantContext: []string{"checkout_url", "payment_options", "status_url", "unavailable_options"}, wantErrors: "payment_option"},
		{name: "redirection selected", status: OrderRedirected, method: "GET", page: PageRedirectionPaymentSelected, wantCode: 200,
			wantPage: PageRedirectionPaymentSelected, wantContext: []string{"redirect_method", "redirect_url"}},
		{name: "thank you", status: OrderCompleted, method: "GET", page: PageThankYou, wantCode: 200,
			wantPage: PageThankYou, wantContext: []string{"campaigns", "new_user", "order_id", "order_number", "redirect_url", "token"}},
		{name: "thank you while the bank decides", status: OrderWaitingPayment, method: "GET", page: PageThankYou, wantCode: 200,
			wantPage: PageThankYou, wantContext: []string{"campaigns", "new_user", "order_id", "order_number", "redirect_url", "token"}},
		{name: "thank you before payment shows the options", method: "GET", page: PageThankYou, wantCode: 200,
			wantPage: PagePaymentOptionSelection, wantContext: []string{"checkout_url", "payment_options", "status_url", "unavailable_options"}},
		{name: "paid order refuses another option", status: OrderCompleted, method: "POST", page: PagePaymentOptionSelection,
			form: url.Values{"payment_option": {"redirection"}}, wantCode: 400, wantPage: PageThankYou,
			wantContext: []string{"campaigns", "new_user", "order_id", "order_number", "redirect_url", "token"}, wantErrors: "non_field_errors"},
		{name: "no checkout cookie", noCookie: true, method: "GET", page: PagePaymentOptionSelection, wantCode: 401, wantErrors: "non_field_errors"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustShop(t)
			o := mustRedirectedOrder(t, s, OrderSpec{}, "sess-1")
			o.update(func(v *OrderView) {
				v.Status = tc.status
				if tc.status == "" {
					v.Status = OrderOpen
				}
			})
			var r *http.Request
			target := PathCheckout + "?page=" + tc.page
			if tc.form != nil {
				r = postForm(target, tc.form)
			} else {
				r = httptest.NewRequest(tc.method, target, nil)
			}
			r.Header.Set("X-Requested-With", "XMLHttpRequest")
			if !tc.noCookie {
				r.AddCookie(&http.Cookie{Name: cookieName, Value: o.Token})
			}
			w := serve(t, s, r)
			if w.Code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantCode, w.Body)
			}
			raw := w.Body.Bytes()
			if got := keys(t, raw); strings.Join(got, ",") != strings.Join(topKeys, ",") {
				t.Errorf("top keys %v, want %v", got, topKeys)
			}
			var p Page
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			if p.TemplateName != "orders/checkout.html" {
				t.Errorf("template_name %q", p.TemplateName)
			}
			if tc.wantErrors == "" && !strings.Contains(string(raw), `"errors":null`) {
				t.Errorf("errors is not null: %s", raw)
			}
			if tc.wantErrors != "" && len(p.Errors[tc.wantErrors]) == 0 {
				t.Errorf("errors %v, want a message for %q", p.Errors, tc.wantErrors)
			}
			if tc.wantPage == "" {
				return
			}
			if len(p.ContextList) != 1 || p.Name() != tc.wantPage || p.ContextList[0].PageSlug != tc.wantPage {
				t.Fatalf("context_list %+v, want one %s", p.ContextList, tc.wantPage)
			}
			if got := keys(t, p.ContextList[0].PageContext); strings.Join(got, ",") != strings.Join(tc.wantContext, ",") {
				t.Errorf("page_context keys %v, want %v", got, tc.wantContext)
			}
			if p.PreOrder == nil || p.PreOrder.PK != o.PK || p.PreOrder.TotalAmount != "100.00" || p.PreOrder.Currency != "try" {
				t.Errorf("pre_order %+v", p.PreOrder)
			}
			switch tc.wantPage {
			case PageThankYou:
				var ty ThankYouContext
				_ = p.Decode(&ty)
				if ty.OrderNumber != o.Number || ty.OrderID != o.PK || ty.RedirectURL != "http://shop.test/completed/"+o.Number {
					t.Errorf("thank-you context %+v", ty)
				}
			case PageRedirectionPaymentSelected:
				var rd RedirectionPaymentSelectedContext
				_ = p.Decode(&rd)
				if rd.RedirectURL != "http://gateway.test/pay/sess-1" {
					t.Errorf("redirect_url %q", rd.RedirectURL)
				}
			case PagePaymentOptionSelection:
				var po PaymentOptionSelectionContext
				_ = p.Decode(&po)
				if len(po.PaymentOptions) != 1 || po.PaymentOptions[0].Slug != "redirection" || po.CheckoutURL != s.CheckoutURL(o) {
					t.Errorf("payment options %+v", po)
				}
			}
		})
	}
}

func TestEnterCheckout(t *testing.T) {
	s := mustShop(t)
	o := s.NewOrder(OrderSpec{Amount: MustAmount("10.00"), Currency: "TRY"})
	w := serve(t, s, httptest.NewRequest(http.MethodGet, "/checkout-with-token/"+o.Token, nil))
	if w.Code != http.StatusFound || w.Header().Get("Location") != PathCheckout+"?page="+PagePaymentOptionSelection {
		t.Errorf("answer %d to %q", w.Code, w.Header().Get("Location"))
	}
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != cookieName || c[0].Value != o.Token || !c[0].HttpOnly {
		t.Errorf("cookies %+v", c)
	}
	if w := serve(t, s, httptest.NewRequest(http.MethodGet, "/checkout-with-token/nope", nil)); w.Code != http.StatusNotFound {
		t.Errorf("unknown token: %d", w.Code)
	}
}

// A browser gets HTML carrying the same JSON, and the thank-you page
// shows the order number where the browser test reads it.
func TestCheckoutHTML(t *testing.T) {
	s := mustShop(t)
	o := mustRedirectedOrder(t, s, OrderSpec{}, "sess-1")
	o.update(func(v *OrderView) { v.Status = OrderCompleted })
	r := httptest.NewRequest(http.MethodGet, PathCheckout+"?page="+PageThankYou, nil)
	r.AddCookie(&http.Cookie{Name: cookieName, Value: o.Token})
	w := serve(t, s, r)
	body := w.Body.String()
	if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("content type %q", w.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		`<main data-page="ThankYouPage" data-order="` + o.Number + `">`,
		`<div class="number" id="order-number">` + o.Number + `</div>`,
		`<script type="application/json" id="page-json">{"context_list":[{"page_context":{`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
}
