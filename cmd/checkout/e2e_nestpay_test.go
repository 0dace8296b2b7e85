package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybanktest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// nestpayScenarios are the scenarios that take the shopper to the bank:
// the fake NestPay bank keeps the sandbox's 3-D Secure cards and code.
var nestpayScenarios = []string{"3ds-pass", "3ds-fail", "3ds-abandoned", "3ds-frictionless"}

// testNestPay runs the 3-D Secure scenarios against a gateway whose
// merchant pays through the fake NestPay bank (its own process and
// origin): the hosted page, the form to the bank's 3D gate, its ACS page,
// the bank's return POST to the gateway and Akinon's return URL; in
// Chromium (mode browser) or over HTTP. It logs each order's pages in
// order and, in Chromium, its screenshots.
func testNestPay(t *testing.T, bin binaries, mode string) {
	store := e2eStore(t) // the gateway's, on the run's topology
	bank := nestpaybanktest.Start(t, redistest.Start(t).URL(), nestpaybanktest.Store{ClientID: "100200300", StoreKey: "e2e|store\\key",
		APIUser: "api", APIPassword: "e2e-api-password", Prefix: "npb"})
	shopAddr := gatewaytest.FreeAddr(t)
	const user, password = "e2e-nestpay", "e2e-nestpay-password"
	merchant := map[string]any{"id": "nestpay-shop", "username": user, "password": password, "hashKey": e2eHashKey,
		"webhookUrl": "http://" + shopAddr + commerce.PathWebhook, "webhookHashKey": e2eWebhookKey,
		"processor": map[string]string{"name": "nestpay", "clientId": bank.Store.ClientID, "storeKey": bank.Store.StoreKey,
			"apiUser": bank.Store.APIUser, "apiPassword": bank.Store.APIPassword, "gateUrl": bank.GateURL, "apiUrl": bank.APIURL}}
	raw, _ := json.Marshal(map[string]any{"merchants": []any{merchant}})
	file := filepath.Join(t.TempDir(), "merchants.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	gw := mustStartGateway(t, mergeEnv(store, map[string]string{
		"MERCHANTS_FILE":         file,
		"SESSION_TTL":            sessionTTL(mode), // the abandoned challenge waits for it
		"WEBHOOK_RETRY_SCHEDULE": "0s,1s,2s,5s",
	}))
	reportFile := filepath.Join(t.TempDir(), "report.json")
	args := []string{"-gateway", gw, "-listen", shopAddr, "-username", user, "-password", password,
		"-hash-key", e2eHashKey, "-webhook-hash-key", e2eWebhookKey, "-webhook-wait", "30s", "-session-ttl", sessionTTL(mode),
		"-scenarios", strings.Join(nestpayScenarios, ","), "-report", reportFile}
	if mode == "browser" {
		out := t.TempDir()
		if keep := os.Getenv("CHECKOUT_E2E_OUT"); keep != "" {
			out = filepath.Join(keep, "nestpay")
		}
		args = append(args, "-browser", "-out", out)
	}
	stdout, code := runDriver(t, bin.checkout, args...)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	wantLine(t, stdout, fmt.Sprintf("%d passed, 0 failed", len(nestpayScenarios)))

	var rep report
	if raw, err := os.ReadFile(reportFile); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	bankOrigin := strings.TrimSuffix(bank.URL, "/")
	for _, s := range rep.Scenarios {
		for _, o := range s.Orders {
			end := "the shop's " + o.Page
			if o.Page == "" {
				end = "left at the bank's ACS"
			}
			t.Logf("nestpay %s: pages %s → %s", s.Name, strings.Join(o.Pages, " → "), end)
			if len(o.Screenshots) > 0 {
				t.Logf("nestpay %s: screenshots %s", s.Name, strings.Join(o.Screenshots, " "))
			}
			if !visits(o.Pages, bankOrigin+"/fim/est3Dgate") {
				t.Errorf("%s: the shopper never reached the bank's 3D gate at %s: %v", s.Name, bankOrigin, o.Pages)
			}
			// The code is posted to the ACS only when the shopper answers it.
			answered := s.Name == "3ds-pass" || s.Name == "3ds-fail"
			if visits(o.Pages, bankOrigin+"/acs") != answered {
				t.Errorf("%s: the bank's ACS answered: %v, want %v (%v)", s.Name, !answered, answered, o.Pages)
			}
			if back := s.Name != "3ds-abandoned"; returnedTo(o.Pages, gw) != back {
				t.Errorf("%s: back at the gateway's return URL: %v, want %v (%v)", s.Name, !back, back, o.Pages)
			}
			for _, p := range o.Screenshots {
				mustBePNG(t, p)
			}
		}
	}
}

// visits says whether a page starts with prefix.
func visits(pages []string, prefix string) bool {
	for _, p := range pages {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// returnedTo says whether the walk came back to the gateway's return
// route after leaving its origin.
func returnedTo(pages []string, gw string) bool {
	away := false
	for _, p := range pages {
		u, err := url.Parse(p)
		if err != nil {
			continue
		}
		switch {
		case !strings.HasPrefix(p, gw):
			away = true
		case away && strings.Contains(u.Path, "/return/"):
			return true
		}
	}
	return false
}
