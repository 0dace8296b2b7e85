package main

import (
	"bytes"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// junkForms is an attacker at ip posting n card forms with card to one
// session's page, with the anti-forgery token its cookie carries; it
// returns how many answers had each status.
func junkForms(t *testing.T, redirect, ip, card string, n int) map[int]int {
	t.Helper()
	c, resp := openPageFrom(t, redirect, ip)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	u, _ := url.Parse(redirect)
	token := ""
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "gw_csrf" {
			token = ck.Value
		}
	}
	if token == "" {
		t.Fatalf("no anti-forgery cookie from %s", redirect)
	}
	form := url.Values{"_csrf": {token}, "cardHolder": {"X"}, "cardNumber": {card}, "expiry": {"12/39"}, "cvc": {"000"}, "installment": {"1"}}.Encode()
	seen := map[int]int{}
	for range n {
		resp := postFormFrom(t, c, redirect, ip, form)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		seen[resp.StatusCode]++
	}
	return seen
}

// TestJunkFormsDoNotBlockShoppers: the shared card budgets (per BIN, per
// merchant) count what card testing looks like, so junk forms sent to a
// session that cannot be paid, or past the sender's own budget, leave a
// shopper with a good card from a fresh address paying.
func TestJunkFormsDoNotBlockShoppers(t *testing.T) {
	tests := []struct {
		name   string
		attack func(t *testing.T, base string)
	}{
		{"junk forms with the shopper's BIN from two addresses to one session", func(t *testing.T, base string) {
			_, redirect := gatewaytest.AkinonAt(base).StartSession(t, "o-junk-bin")
			for _, ip := range []string{"198.51.100.1", "198.51.100.2"} {
				t.Logf("from %s: %v", ip, junkForms(t, redirect, ip, "4242424242424241", 40))
			}
		}},
		{"junk forms with the shopper's BIN to a session already paid", func(t *testing.T, base string) {
			_, redirect := gatewaytest.AkinonAt(base).StartSession(t, "o-junk-paid")
			gatewaytest.MustShop(t, redirect, sandbox.CardApproved)
			for _, ip := range []string{"198.51.100.3", "198.51.100.4"} {
				t.Logf("from %s: %v", ip, junkForms(t, redirect, ip, sandbox.CardApproved, 40))
			}
		}},
		{"a flood of forms to one session from one address", func(t *testing.T, base string) {
			_, redirect := gatewaytest.AkinonAt(base).StartSession(t, "o-junk-merchant")
			t.Logf("from 203.0.113.5: %v", junkForms(t, redirect, "203.0.113.5", "5555555555554444", 150))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replicas := twoReplicas(t, map[string]string{"THROTTLE_CARD_IP": "20/10m", "THROTTLE_CARD_BIN": "30/10m", "THROTTLE_CARD_MERCHANT": "100/1m"})
			tt.attack(t, replicas[0])
			_, redirect := gatewaytest.AkinonAt(replicas[1]).StartSession(t, "o-shopper")
			resp := payFrom(t, redirect, "192.0.2.77", sandbox.CardApproved)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`id="return"`)) {
				t.Fatalf("a shopper with a good card from a fresh address after the attack: %d (Retry-After %q), want the payment's outcome",
					resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		})
	}
}

// TestFormsWithoutTokenChargeNothing: a form without a valid anti-forgery
// token is refused before any budget, even the sender's own.
func TestFormsWithoutTokenChargeNothing(t *testing.T) {
	replicas := twoReplicas(t, map[string]string{"THROTTLE_CARD_IP": "2/10m", "THROTTLE_CARD_BIN": "2/10m", "THROTTLE_CARD_MERCHANT": "2/10m"})
	_, redirect := gatewaytest.AkinonAt(replicas[0]).StartSession(t, "o-no-token")
	form := url.Values{"_csrf": {"forged"}, "cardNumber": {sandbox.CardApproved}, "expiry": {"12/39"}, "cvc": {"123"}}.Encode()
	for i := range 10 {
		req, _ := http.NewRequest(http.MethodPost, redirect, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "192.0.2.77")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("form %d without a valid token: 429; it must be refused before any budget", i+1)
		}
	}
	resp := payFrom(t, redirect, "192.0.2.77", sandbox.CardApproved)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`id="return"`)) {
		t.Fatalf("the shopper at the same address with a token: %d, want the payment's outcome", resp.StatusCode)
	}
}

// declinedCard is the i-th card of a card tester: the sandbox's declined
// numbers of BIN 400000, then numbers of bin with a wrong check digit
// (refused by the form, as a bank refuses a number it does not know).
func declinedCard(bin string, i int) string {
	if bin == "400000" && i < 2 {
		return []string{sandbox.CardDeclined, sandbox.CardInsufficient}[i]
	}
	good := luhn(bin + strconv.Itoa(100000000 + i)[:9])
	last := (int(good[15]-'0') + 1) % 10
	return good[:15] + strconv.Itoa(last)
}
