package extension_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http/httpguts"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// FuzzAkinonBodies sends arbitrary bodies to the five calls of a gateway
// holding one purchased order. Whatever arrives, the answer is one the
// contract allows, in the contract's error shape when it is an error,
// never a 5xx; and the purchased order's balance never moves unless the
// body was a refund or a void the gateway accepted.
func FuzzAkinonBodies(f *testing.F) {
	g := mustGateway(f)
	s := g.mustStart(f, "fz-order")
	newBrowser(f).pay(f, s.RedirectURL, cardOf(sandbox.CardApproved))
	g.mustOperate(f, "/purchase", body(opBody("fz-order", "fz-purchase")), "RESOLVED")

	paths := []string{"/start-session", "/purchase", "/void", "/refund", "/history"}
	for _, seed := range []string{
		body(startBody("fz-new", "fz-g1", "10.00")),
		body(opBody("fz-order", "fz-g2")),
		body(refundBody("fz-order", "fz-g3", "1.00")),
		`{"guid":"fz-g4","orderId":"fz-order","amount":1.001,"currency":"TRY"}`,
		`{"guid":"fz-g5","orderId":"fz-order","amount":"1.00","currency":"TRY"}`,
		`{"guid":["x"],"orderId":{"a":1}}`,
		`{"guid":"fz-g6","orderId":"fz-order","amount":1e400,"currency":"TRY"}`,
		`{"customer":{"email":7}}`,
		`[]`, `null`, `{`, `"\u0000"`, "{\"guid\":\"\xff\"}",
	} {
		for i := range paths {
			f.Add(uint8(i), seed)
		}
	}
	allowed := map[int]bool{http.StatusOK: true, http.StatusBadRequest: true, http.StatusNotFound: true,
		http.StatusConflict: true, http.StatusRequestEntityTooLarge: true, http.StatusUnprocessableEntity: true}

	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		path := paths[int(which)%len(paths)]
		before, _ := g.mustHistory(t, "fz-order")
		r := g.call(t, path, raw)
		if !allowed[r.Status] {
			t.Fatalf("%s %q: status %d\n%s", path, raw, r.Status, r.Body)
		}
		if r.Status != http.StatusOK {
			var e map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &e); err != nil || len(e) != 4 || e["errors"] == nil {
				t.Fatalf("%s %q: error body not in the contract's shape: %s", path, raw, r.Body)
			}
		}
		after, _ := g.mustHistory(t, "fz-order")
		moves := (path == "/refund" || path == "/void") && r.Status == http.StatusOK
		if after.Balance != before.Balance && !moves {
			t.Fatalf("%s %q moved the balance from %s to %s with status %d", path, raw, before.Balance, after.Balance, r.Status)
		}
	})
}

// FuzzPayForm posts arbitrary bodies to the hosted page's card form of a
// fresh session, with or without the page's anti-forgery token, under
// one of the content types a browser or a script may send. Whatever
// arrives, the answer is a page, never a 5xx; a form refused before it is
// read (400, 403, 413) changes nothing; a refused form (422) never reaches
// the processor; and the processor is only called for a form the card
// rules accept.
func FuzzPayForm(f *testing.F) {
	g := mustGateway(f)
	types := []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "text/plain", ""}
	valid := url.Values{"cardHolder": {"Ayşe Yılmaz"}, "cardNumber": {sandbox.CardApproved}, "expiry": {"07/37"}, "cvc": {"739"}, "installment": {"1"}}.Encode()
	for _, seed := range []string{
		valid,
		strings.Replace(valid, "installment=1", "installment=3", 1),
		strings.Replace(valid, "installment=1", "installment=99", 1),
		strings.Replace(valid, sandbox.CardApproved, "4242424242424241", 1),
		strings.Replace(valid, "07%2F37", "13%2F99", 1),
		"cardNumber=4242+4242+4242+4242&expiry=07/37&cvc=739&cardHolder=A&cardNumber=1",
		"cardHolder=%zz&cardNumber=%", "a=b;c=d", "&&&==&", "cardHolder=" + strings.Repeat("x", 17<<10),
		"--b\r\nContent-Disposition: form-data; name=\"cardNumber\"\r\n\r\n4242424242424242\r\n--b--\r\n",
		"cardHolder=\x00\xff&cvc=\u0661\u0662\u0663",
	} {
		for i := range types {
			f.Add(seed, uint8(i), true)
		}
		f.Add(seed, uint8(0), false)
	}
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, raw string, ct uint8, withToken bool) {
		order := "fzp-" + strconv.FormatInt(seq.Add(1), 10)
		s := g.mustStart(t, order)
		b := newBrowser(t)
		page := b.get(t, s.RedirectURL)
		form := raw
		if withToken {
			form = "_csrf=" + url.QueryEscape(hidden(page.Body)["_csrf"]) + "&" + raw
		}
		before, hb := g.mustHistory(t, order)
		calls := g.bank.Calls("Authorise")

		req, err := http.NewRequest(http.MethodPost, s.RedirectURL, strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		if c := types[int(ct)%len(types)]; c != "" {
			req.Header.Set("Content-Type", c)
		}
		r := do(t, b.c, req)

		allowed := map[int]bool{http.StatusOK: true, http.StatusBadRequest: true, http.StatusForbidden: true,
			http.StatusRequestEntityTooLarge: true, http.StatusUnprocessableEntity: true}
		if !allowed[r.Status] || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%q: status %d, %s\n%.500s", form, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		after, ha := g.mustHistory(t, order)
		called := g.bank.Calls("Authorise") != calls
		switch r.Status {
		case http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge:
			if called || !bytes.Equal(hb.Body, ha.Body) {
				t.Fatalf("%q: refused with %d, yet the processor was called (%v) or the history moved:\n%s\n%s", form, r.Status, called, hb.Body, ha.Body)
			}
		case http.StatusUnprocessableEntity:
			if called || after.Status != before.Status {
				t.Fatalf("%q: a refused form reached the processor (%v) or moved the order to %s", form, called, after.Status)
			}
		}
		if called && types[int(ct)%len(types)] == types[0] {
			v, _ := url.ParseQuery(form)
			card := provider.CardForm{CardHolder: v.Get("cardHolder"), CardNumber: v.Get("cardNumber"),
				Expiry: v.Get("expiry"), CVC: v.Get("cvc"), Installment: v.Get("installment")}
			if _, errs := card.Parse(g.clock.Now(), g.merchant.Installments("TRY")); errs != nil {
				t.Fatalf("%q reached the processor although the card rules refuse it: %v", form, errs)
			}
		}
	})
}

// FuzzAkinonHeaders sends a refund of 0.01 on a purchased order with
// arbitrary request id, api version, Content-Type and Authorization.
// Never a 5xx; a 200 only with the order's merchant's credentials and a
// JSON Content-Type, and the balance moves by exactly 0.01 then and never
// otherwise; the request id is echoed when usable and replaced when not;
// the request's log line stays short.
func FuzzAkinonHeaders(f *testing.F) {
	g := mustGateway(f)
	g.mustOrderIn(f, "fzh-order", "purchased")
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword))
	for _, seed := range [][4]string{
		{"req-1", "1.0", "application/json", good},
		{"", "", "", ""},
		{strings.Repeat("r", 129), strings.Repeat("v", 100), "application/json; charset=utf-8", good},
		{"req-2", "2", "APPLICATION/JSON", "basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword))},
		{"req-3", "2", "application/json;", "Basic !!!"},
		{"ş", "\t", "text/json", "Bearer x"},
		{"req-4", "1", "application/json", "Basic " + base64.StdEncoding.EncodeToString([]byte("other-shop:other-password-0123"))},
		{"req-5", "1", "application/json; charset", good},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, id, version, contentType, authorization string) {
		for _, v := range []string{id, version, contentType, authorization} {
			if !httpguts.ValidHeaderFieldValue(v) {
				t.Skip("not a header value a client can send")
			}
		}
		before, _ := g.mustHistory(t, "fzh-order")
		guid := "fzh-" + strconv.FormatInt(seq.Add(1), 10)
		req, err := http.NewRequest(http.MethodPost, g.URL+"/refund", strings.NewReader(body(refundBody("fzh-order", guid, "0.01"))))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"x-akinon-request-id": id, "x-akinon-api-version": version,
			"Content-Type": contentType, "Authorization": authorization} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		g.logs.TakeAll()
		r := do(t, http.DefaultClient, req)
		after, _ := g.mustHistory(t, "fzh-order")

		// The server reads header values without surrounding blanks.
		id, contentType, authorization = strings.Trim(id, " \t"), strings.Trim(contentType, " \t"), strings.Trim(authorization, " \t")
		mt, _, merr := mime.ParseMediaType(contentType)
		isJSON := merr == nil && mt == "application/json"
		// The order is the default merchant's: the other one does not see it.
		want := map[string]map[bool][]int{ // [merchant][JSON]
			"":        {false: {http.StatusUnauthorized}, true: {http.StatusUnauthorized}},
			"default": {false: {http.StatusUnsupportedMediaType}, true: {http.StatusOK, http.StatusUnprocessableEntity}},
			"other":   {false: {http.StatusUnsupportedMediaType}, true: {http.StatusNotFound}},
		}[merchantOf(authorization)][isJSON]
		if !slices.Contains(want, r.Status) {
			t.Fatalf("headers %q: status %d, want one of %v: %s", []string{id, version, contentType, authorization}, r.Status, want, r.Body)
		}
		if r.Status != http.StatusOK {
			checkErrorBody(t, r)
		}
		moved := provider.Money(0)
		if r.Status == http.StatusOK {
			moved = 1
		}
		if b, a := mustMoney(t, string(before.Balance)), mustMoney(t, string(after.Balance)); b-a != moved {
			t.Fatalf("status %d moved the balance from %s to %s", r.Status, before.Balance, after.Balance)
		}
		echoed := r.Header.Get("x-akinon-request-id")
		if usable := id != "" && len(id) <= 128; usable && echoed != id || !usable && len(echoed) != 36 {
			t.Fatalf("request id %q answered as %q", id, echoed)
		}
		for _, e := range g.logs.TakeAll() {
			for k, v := range e.ContextMap() {
				if s, ok := v.(string); ok && len(s) > 200 {
					t.Fatalf("log field %s of %d bytes", k, len(s))
				}
			}
		}
	})
}

// merchantOf tells which test merchant's credentials an Authorization
// header carries as RFC 7617 writes them (Basic, any case, one space,
// base64 without stray bits), or "".
func merchantOf(h string) string {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return ""
	}
	b, err := base64.StdEncoding.Strict().DecodeString(cred)
	switch {
	case err != nil:
		return ""
	case string(b) == testUser+":"+testPassword:
		return "default"
	case string(b) == "other-shop:other-password-0123":
		return "other"
	}
	return ""
}

func mustMoney(tb testing.TB, s string) provider.Money {
	tb.Helper()
	m, err := provider.ParseMoney(s)
	if err != nil {
		tb.Fatalf("money %q: %v", s, err)
	}
	return m
}
