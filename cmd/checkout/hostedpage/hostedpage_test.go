package hostedpage

import (
	"strings"
	"testing"
)

func TestParseHostedPage(t *testing.T) {
	cases := []struct {
		name       string
		html       string
		refresh    string
		wantKind   Kind
		wantAction string
		wantFields map[string]string
		wantSelect []string
		wantErrors map[string]string
	}{
		{
			name: "card form with installments",
			html: `<main><h1>Pay by card</h1><form method="POST" action="/pay/s1" novalidate>
<input type="hidden" name="_csrf" value="tok">
<input id="cardHolder" name="cardHolder"><input id="cardNumber" name="cardNumber">
<input id="expiry" name="expiry"><input id="cvc" name="cvc">
<select id="installment" name="installment"><option value="1">Single</option><option value="3">3</option></select>
<button id="pay">Pay</button></form></main>`,
			wantKind: KindCard, wantAction: "/pay/s1",
			wantFields: map[string]string{"_csrf": "tok", "cardNumber": "", "installment": "1"},
			wantSelect: []string{"1", "3"},
		},
		{
			name: "card form refused, installment hidden",
			html: `<form method="POST" action="/pay/s1"><input type="hidden" name="_csrf" value="t2">
<input name="cardNumber"><div class="err" id="err-cardNumber"> The card number is not valid. </div>
<input type="hidden" name="installment" value="1"></form>`,
			wantKind: KindCard, wantAction: "/pay/s1",
			wantFields: map[string]string{"_csrf": "t2", "installment": "1"},
			wantErrors: map[string]string{"cardNumber": "The card number is not valid."},
		},
		{
			name:     "to the bank",
			html:     `<h1>3-D Secure</h1><form method="POST" action="http://127.0.0.1:9/acs" id="bank"><input type="hidden" name="ref" value="pay-s1"><button id="to-bank">Continue</button></form>`,
			wantKind: KindBank, wantAction: "http://127.0.0.1:9/acs", wantFields: map[string]string{"ref": "pay-s1"},
		},
		{
			name:     "the bank's 3-D Secure page",
			html:     `<h1>Sandbox Bank</h1><form method="POST" action="/acs/answer" id="acs-challenge"><input type="hidden" name="sig" value="t3"><input id="code" name="code"><button id="verify">Verify</button></form>`,
			wantKind: KindThreeDS, wantAction: "/acs/answer", wantFields: map[string]string{"sig": "t3", "code": ""},
		},
		{
			name:     "back from the bank",
			html:     `<form method="POST" action="http://gw.test/pay/s1/return/a1" id="acs-return"><input type="hidden" name="mac" value="m"></form>`,
			wantKind: KindBank, wantAction: "http://gw.test/pay/s1/return/a1", wantFields: map[string]string{"mac": "m"},
		},
		{
			name: "return",
			html: `<h1 id="result">Payment approved</h1><form method="POST" action="http://shop.test/orders/redirection/return/" id="return">
<input type="hidden" name="salt" value="abc"><input type="hidden" name="hash" value="h+/="><button id="back">Back</button></form>`,
			wantKind: KindReturn, wantAction: "http://shop.test/orders/redirection/return/",
			wantFields: map[string]string{"salt": "abc", "hash": "h+/="},
		},
		{name: "processing", html: `<h1>Your payment is being processed</h1>`, refresh: "2", wantKind: KindProcessing},
		{name: "expired", html: `<h1 id="message">This payment session has expired</h1>`, wantKind: KindMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(strings.NewReader(tc.html))
			if err != nil {
				t.Fatal(err)
			}
			kind, form := p.Kind(tc.refresh)
			if kind != tc.wantKind {
				t.Fatalf("kind %q, want %q", kind, tc.wantKind)
			}
			if tc.wantAction == "" {
				return
			}
			if form == nil || form.Action != tc.wantAction || form.Method != "POST" {
				t.Fatalf("form %+v, want POST %s", form, tc.wantAction)
			}
			for k, v := range tc.wantFields {
				if !form.Fields.Has(k) || form.Fields.Get(k) != v {
					t.Errorf("field %s = %q (present %v), want %q", k, form.Fields.Get(k), form.Fields.Has(k), v)
				}
			}
			if got := strings.Join(form.Selects["installment"], ","); got != strings.Join(tc.wantSelect, ",") {
				t.Errorf("installment choices %q, want %v", got, tc.wantSelect)
			}
			for k, v := range tc.wantErrors {
				if p.Errors[k] != v {
					t.Errorf("error %s = %q, want %q", k, p.Errors[k], v)
				}
			}
		})
	}
}
