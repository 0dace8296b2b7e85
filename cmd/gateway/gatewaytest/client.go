package gatewaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
	"github.com/akinon-gateway/gateway/cmd/checkout/hostedpage"
	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/openapicheck"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// Answer is an HTTP answer, or the error that stood for one: a
// connection that breaks (the gateway was killed) is an answer with Err,
// not a test failure.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

func (a Answer) String() string {
	if a.Err != nil {
		return a.Err.Error()
	}
	return fmt.Sprintf("%d %s", a.Status, a.Body)
}

// Code is the first error code of a contract error body.
func (a Answer) Code() string {
	var e struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	if json.Unmarshal(a.Body, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// Decode reads the body as JSON into v.
func (a Answer) Decode(v any) error {
	if a.Err != nil {
		return a.Err
	}
	return json.Unmarshal(a.Body, v)
}

func answerOf(resp *http.Response, err error) Answer {
	if err != nil {
		return Answer{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
}

// Akinon calls the five endpoints as Akinon does: JSON with Basic auth,
// as the test merchant (User, Password) unless told otherwise.
type Akinon struct {
	Base           string
	User, Password string
}

// Post sends one call with body marshalled as JSON.
func (a Akinon) Post(path string, body any) Answer {
	b, err := json.Marshal(body)
	if err != nil {
		return Answer{Err: err}
	}
	return a.PostRaw(path, b)
}

// PostRaw sends one call with the body as it is, through the one Akinon
// client (commerce.Gateway) the checkout driver uses too.
func (a Akinon) PostRaw(path string, body []byte) Answer {
	user, pass := a.User, a.Password
	if user == "" {
		user, pass = User, Password
	}
	g := &commerce.Gateway{BaseURL: a.Base, Username: user, Password: pass, Client: &http.Client{Timeout: 30 * time.Second}}
	x := g.Call(context.Background(), path, body, "")
	return Answer{Status: x.Status, Header: x.Header, Body: x.Body, Err: x.Err}
}

// Call sends one call and decodes the answer into out (when not nil); a
// broken connection or an undecodable body fails the test.
func (a Akinon) Call(tb testing.TB, path string, body, out any) int {
	tb.Helper()
	ans := a.Post(path, body)
	if ans.Err != nil {
		tb.Fatalf("%s: %v", path, ans.Err)
	}
	if out != nil {
		if err := ans.Decode(out); err != nil {
			tb.Fatalf("%s: %v: %s", path, err, ans.Body)
		}
	}
	return ans.Status
}

// Operator calls the operator endpoints as a script or tool does: Basic
// auth with HeaderOperator, each exchange held against openapi.json.
type Operator struct {
	Base           string
	User, Password string
}

// Call sends one request without a body and decodes the answer into out
// (when not nil); a broken connection or an undecodable body fails the
// test, and an exchange openapi.json does not describe marks it failed.
func (o Operator) Call(tb testing.TB, method, path string, out any) int {
	tb.Helper()
	req, err := http.NewRequest(method, o.Base+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth(o.User, o.Password)
	req.Header.Set(extension.HeaderOperator, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := openapicheck.Shared()
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Check(req, nil, resp.StatusCode, resp.Header, body); err != nil {
		tb.Errorf("openapi.json: %v", err)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			tb.Fatalf("%s %s: %v: %s", method, path, err, body)
		}
	}
	return resp.StatusCode
}

// StartBody is a SALE start-session body of 120.50 TRY for order.
func StartBody(order string) map[string]any {
	return map[string]any{
		"version": "1", "guid": "start-" + order, "orderId": order, "orderAmount": 120.5, "locale": "en",
		"returnUrl": ReturnURL, "type": "SALE", "currency": "TRY",
		"customer": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
	}
}

// StartSession starts a SALE session (StartBody) and returns its id and
// the hosted page's URL; anything but a 200 fails the test.
func (a Akinon) StartSession(tb testing.TB, order string) (sid, redirect string) {
	tb.Helper()
	ans := a.Post("/start-session", StartBody(order))
	var out struct{ SessionID, RedirectURL string }
	if ans.Status != http.StatusOK || ans.Decode(&out) != nil {
		tb.Fatalf("start-session: %v", ans)
	}
	return out.SessionID, out.RedirectURL
}

// CardForm is the hosted page's card form for card, as the page set it
// (its anti-forgery token among its fields) with the card typed in.
func CardForm(page []byte, card string) (url.Values, error) {
	p, err := hostedpage.Bytes(page)
	if err != nil {
		return nil, err
	}
	kind, form := p.Kind("")
	if kind != hostedpage.KindCard {
		return nil, fmt.Errorf("no card form on the page: %.300s", page)
	}
	for k, v := range map[string]string{"cardHolder": "Ada Lovelace", "cardNumber": card, "expiry": "12/39", "cvc": "123", "installment": "1"} {
		form.Fields.Set(k, v)
	}
	return form.Fields, nil
}

// Shopper is one browser (a cookie jar) on the hosted page.
type Shopper struct{ c *http.Client }

// NewShopper is a browser with no cookies yet.
func NewShopper() *Shopper {
	jar, _ := cookiejar.New(nil)
	return &Shopper{c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// Get opens a page.
func (s *Shopper) Get(u string) Answer { return answerOf(s.c.Get(u)) }

// PostForm submits a form.
func (s *Shopper) PostForm(u string, form url.Values) Answer { return answerOf(s.c.PostForm(u, form)) }

// Pay opens the hosted page at redirect and posts the card form with card.
func (s *Shopper) Pay(redirect, card string) Answer {
	page := s.Get(redirect)
	if page.Err != nil {
		return page
	}
	form, err := CardForm(page.Body, card)
	if err != nil {
		return Answer{Err: fmt.Errorf("%d: %w", page.Status, err)}
	}
	return s.PostForm(redirect, form)
}

// Shop is a new shopper paying on the hosted page at redirect with card.
func Shop(redirect, card string) Answer { return NewShopper().Pay(redirect, card) }

// MustShop is Shop that fails the test when the page cannot be paid on.
func MustShop(tb testing.TB, redirect, card string) Answer {
	tb.Helper()
	ans := Shop(redirect, card)
	if ans.Err != nil {
		tb.Fatalf("paying at %s: %v", redirect, ans.Err)
	}
	return ans
}

// ShopThreeDS pays with the sandbox's 3-D Secure card and answers the
// code at its ACS, in one browser, as the pages' scripts would; it
// returns the gateway's last page.
func ShopThreeDS(tb testing.TB, redirect string) Answer {
	tb.Helper()
	s := NewShopper()
	page := s.Pay(redirect, sandbox.CardThreeDS)
	toBank, fields := mustForm(tb, page)
	page = s.PostForm(toBank, fields) // the ACS's code page
	answer, fields := mustForm(tb, page)
	fields.Set("code", sandbox.ThreeDSCode)
	bank, _ := url.Parse(toBank)
	at, err := bank.Parse(answer)
	if err != nil {
		tb.Fatal(err)
	}
	page = s.PostForm(at.String(), fields) // the ACS's form back to the gateway
	back, fields := mustForm(tb, page)
	return s.PostForm(back, fields)
}

// PageForm reads a page's first form: its action and fields.
func PageForm(page []byte) (string, url.Values, error) {
	p, err := hostedpage.Bytes(page)
	if err != nil {
		return "", nil, err
	}
	if len(p.Forms) == 0 {
		return "", nil, fmt.Errorf("no form: %.300s", page)
	}
	return p.Forms[0].Action, p.Forms[0].Fields, nil
}

func mustForm(tb testing.TB, page Answer) (string, url.Values) {
	tb.Helper()
	if page.Err != nil {
		tb.Fatal(page.Err)
	}
	action, fields, err := PageForm(page.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return action, fields
}

// AkinonAt is Akinon calling the gateway at base as the test merchant.
func AkinonAt(base string) Akinon { return Akinon{Base: base} }
