package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"

	"github.com/redis/go-redis/v9"
	"golang.org/x/net/html"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/audit"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybank"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybanktest"
	"github.com/akinon-gateway/gateway/provider/processortest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// akinonReturn is where StartSession sends the shopper back.
const akinonReturn = "http://127.0.0.1:9/return"

// nestpayBank starts the fake NestPay bank with its books in the Redis at
// redisURL (prefix npb) and returns it with the merchant section that
// names it.
func nestpayBank(tb testing.TB, redisURL string) (*nestpaybanktest.Bank, string) {
	tb.Helper()
	bank := nestpaybanktest.Start(tb, redisURL, nestpaybanktest.Store{ClientID: "100200300", StoreKey: "TEST|key\\1234",
		APIUser: "api", APIPassword: "api-s3cr3t", Prefix: "npb"})
	section := `{"name": "nestpay", "clientId": "100200300", "storeKey": "TEST|key\\1234", "apiUser": "api",
		"apiPassword": "api-s3cr3t", "gateUrl": "` + bank.GateURL + `", "apiUrl": "` + bank.APIURL + `", "timeout": "3s"}`
	return bank, section
}

// nestpayBooks reads the fake bank's books, for the ledger audit.
func nestpayBooks(tb testing.TB, redisURL string) *nestpaybank.Books {
	tb.Helper()
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		tb.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	tb.Cleanup(func() { _ = rdb.Close() })
	return nestpaybank.NewBooks(rdb, "npb")
}

// htmlForm is a page's first form as a browser would submit it.
type htmlForm struct {
	Action string
	Fields url.Values
}

// formOf reads the first form of a page, its action resolved against at.
func formOf(tb testing.TB, at *url.URL, body []byte) (htmlForm, bool) {
	tb.Helper()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	found, ok := processortest.FirstForm(doc)
	if !ok {
		return htmlForm{}, false
	}
	to, err := at.Parse(found.Action)
	if err != nil {
		tb.Fatal(err)
	}
	return htmlForm{Action: to.String(), Fields: found.Fields}, true
}

// submit posts a form as a browser does after another site's page: with
// no cookie (a cross-site POST carries none of SameSite=Lax).
func submit(tb testing.TB, f htmlForm) (*http.Response, []byte) {
	tb.Helper()
	resp, err := http.PostForm(f.Action, f.Fields)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		tb.Fatal(err)
	}
	return resp, body.Bytes()
}

// toNestPay is the shopper from the hosted page to the bank and back to
// the gateway's door: it posts the card, follows the page's form to the
// bank's 3D gate, answers the ACS's code page with code, and stops at the
// bank's form back to the gateway, which it returns with the pages seen.
func toNestPay(tb testing.TB, base, redirect, card, code string) (pages []string, back htmlForm) {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(redirect)
	if err != nil {
		tb.Fatal(err)
	}
	var page bytes.Buffer
	_, _ = page.ReadFrom(resp.Body)
	resp.Body.Close()
	form, err := gatewaytest.CardForm(page.Bytes(), card)
	if err != nil {
		tb.Fatalf("the hosted page (%d): %v", resp.StatusCode, err)
	}
	pages = append(pages, redirect)
	resp, err = c.PostForm(redirect, form)
	if err != nil {
		tb.Fatal(err)
	}
	page.Reset()
	_, _ = page.ReadFrom(resp.Body)
	resp.Body.Close()
	at := resp.Request.URL
	body := page.Bytes()
	for range 4 {
		f, ok := formOf(tb, at, body)
		if !ok {
			tb.Fatalf("%s answered %d without a form: %s", at, resp.StatusCode, body)
		}
		if strings.HasPrefix(f.Action, base+"/pay/") {
			return pages, f
		}
		if _, asks := f.Fields["code"]; asks {
			f.Fields.Set("code", code)
		}
		pages = append(pages, f.Action)
		resp, body = submit(tb, f)
		at = resp.Request.URL
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("%s answered %d: %s", f.Action, resp.StatusCode, body)
		}
	}
	tb.Fatalf("no way back to the gateway after %v", pages)
	return nil, htmlForm{}
}

// returned posts the bank's form back to the gateway and reads the page
// that takes the shopper to Akinon: its status fields.
func returned(tb testing.TB, back htmlForm) (int, url.Values) {
	tb.Helper()
	resp, body := submit(tb, back)
	f, ok := formOf(tb, resp.Request.URL, body)
	if !ok || f.Action != akinonReturn {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, f.Fields
}

// TestNestPayMerchant: a gateway whose merchant's section names nestpay
// takes payments through the fake NestPay bank over HTTP: the card to the
// bank's 3D gate, its ACS, the bank's return POST, Akinon's return URL;
// then a purchase (PostAuth) and a partial refund (Credit). A tampered
// return and a replayed one are never approved twice, and the ledger
// audit against the bank's books finds no difference.
func TestNestPayMerchant(t *testing.T) {
	store := redistest.Start(t)
	bank, section := nestpayBank(t, store.URL())
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), store.URL(), "", map[string]string{"MERCHANTS_FILE": gatewaytest.MerchantsFile(t, section)}))
	books := nestpayBooks(t, store.URL())
	ctx := context.Background()

	for _, tc := range []struct {
		name, card, code  string
		tamper            func(url.Values)
		replay            bool
		status, subStatus string
		authorised        bool
	}{
		{name: "frictionless", card: nestpaybank.CardFrictionless, status: "RESOLVED", subStatus: "RESOLVED", authorised: true},
		{name: "challenge passed", card: nestpaybank.CardChallenge, code: nestpaybank.ChallengeCode, status: "RESOLVED", subStatus: "RESOLVED", authorised: true},
		{name: "challenge failed", card: nestpaybank.CardChallenge, code: "000000", status: "REJECTED", subStatus: "PROCESSING_ERROR"},
		{name: "not enrolled", card: nestpaybank.CardNotEnrolled, status: "RESOLVED", subStatus: "RESOLVED", authorised: true},
		{name: "declined at provision", card: nestpaybank.CardDeclined, status: "REJECTED", subStatus: "PROCESSING_ERROR"},
		{name: "tampered amount", card: nestpaybank.CardFrictionless, tamper: func(f url.Values) { f.Set("amount", "1.00") },
			status: "REJECTED", subStatus: "PROCESSING_ERROR"},
		{name: "replayed", card: nestpaybank.CardChallenge, code: nestpaybank.ChallengeCode, replay: true,
			status: "RESOLVED", subStatus: "RESOLVED", authorised: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order := "np-" + strings.ReplaceAll(tc.name, " ", "-")
			sid, redirect := gatewaytest.AkinonAt(base).StartSession(t, order)
			pages, back := toNestPay(t, base, redirect, tc.card, tc.code)
			if !strings.HasPrefix(back.Action, base+"/pay/"+sid+"/return/") {
				t.Fatalf("the bank returns to %s", back.Action)
			}
			if tc.tamper != nil {
				tc.tamper(back.Fields)
			}
			code, f := returned(t, back)
			t.Logf("%s: pages %s → %s; answered %d %s/%s", tc.name, strings.Join(pages, " → "), back.Action, code,
				f.Get("status"), f.Get("subStatus"))
			if f.Get("status") != tc.status || f.Get("subStatus") != tc.subStatus || f.Get("sessionId") != sid {
				t.Fatalf("the return gave %d %v, want %s/%s", code, f, tc.status, tc.subStatus)
			}
			if tc.replay {
				code, again := returned(t, back)
				t.Logf("replayed: answered %d %s/%s", code, again.Get("status"), again.Get("subStatus"))
				if again.Get("status") != f.Get("status") || again.Get("transactionId") != f.Get("transactionId") {
					t.Errorf("the replayed return gave %v, the first %v", again, f)
				}
			}
			a, err := books.Account(ctx, provider.PaymentReference(sid))
			if err != nil {
				t.Fatal(err)
			}
			provisions := 0
			for _, e := range a.Entries {
				if e.Op == provider.OpAuthorise {
					provisions++
				}
			}
			if (a.State == "authorised") != tc.authorised || provisions > 1 {
				t.Fatalf("the bank's books: %+v, want authorised %v with one provision at most", a, tc.authorised)
			}
			if !tc.authorised {
				return
			}
			var out struct{ Status string }
			if c := gatewaytest.AkinonAt(base).Call(t, "/purchase", map[string]any{"version": "1", "guid": "p-" + order, "orderId": order}, &out); c != http.StatusOK || out.Status != "RESOLVED" {
				t.Fatalf("purchase: %d %s", c, out.Status)
			}
			if c := gatewaytest.AkinonAt(base).Call(t, "/refund", map[string]any{"version": "1", "guid": "r-" + order, "orderId": order,
				"amount": 20.5, "currency": "TRY"}, &out); c != http.StatusOK || out.Status != "RESOLVED" {
				t.Fatalf("refund: %d %s", c, out.Status)
			}
			if a, _ := books.Account(ctx, provider.PaymentReference(sid)); a.Captured != 12050 || a.Refunded != 2050 {
				t.Errorf("the bank captured %v and refunded %v, want 120.50 and 20.50", a.Captured, a.Refunded)
			}
		})
	}
	rep, err := audit.Run(ctx, storeAt(t, store.URL(), 1), books, time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ledger audit against the fake NestPay bank (%s): %d orders, %d payments, %d operations, %d differences",
		bank.URL, rep.Orders, rep.Payments, rep.Operations, len(rep.Differences))
	if len(rep.Differences) > 0 {
		t.Fatalf("differences: %v", rep.Differences)
	}
}

// TestNestPayCheckConfig: -check-config proves a nestpay section against
// the bank (its API user accepted) and shows it with its secrets masked;
// a wrong API password is refused naming the merchant and the bank's word.
func TestNestPayCheckConfig(t *testing.T) {
	store := redistest.Start(t)
	_, section := nestpayBank(t, store.URL())
	for _, tc := range []struct{ name, section, want string }{
		{"the store's credentials", section, "processor nestpay (apiPassword=*** apiUrl="},
		{"a wrong API password", strings.Replace(section, `"api-s3cr3t"`, `"guess-s3cr3t"`, 1),
			`merchant "shop-0": processor nestpay: the XML API at`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			env := gatewaytest.Env(gatewaytest.FreeAddr(t), store.URL(), "", map[string]string{"MERCHANTS_FILE": gatewaytest.MerchantsFile(t, tc.section)})
			err := gatewaytest.ExecTo(context.Background(), &out, []string{"-check-config"}, env)
			shown := out.String()
			if err != nil {
				shown += err.Error()
			}
			t.Logf("-check-config: %s", shown)
			if !strings.Contains(shown, tc.want) || strings.Contains(shown, "s3cr3t") || strings.Contains(shown, `key\1234`) {
				t.Errorf("-check-config gave\n%s\nwant %q and no secret", shown, tc.want)
			}
		})
	}
}
