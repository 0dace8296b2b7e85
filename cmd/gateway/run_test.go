package main

import (
	"context"
	"encoding/json"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"net/http"
	"strings"
	"testing"
)

// TestRunServesAndStops boots the real program on a free port with the
// embedded store and the development credentials, serves a start-session,
// the hosted page and both health checks, then stops on cancel with nil.
func TestRunServesAndStops(t *testing.T) {
	addr := gatewaytest.FreeAddr(t)
	env := map[string]string{
		"ADDR":       addr,
		"PUBLIC_URL": "http://" + addr,
		"DEV_MODE":   "1",
		"LOG_LEVEL":  "error",
	}
	base, stop := gatewaytest.Run(t, env)
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz on the embedded store: %d", resp.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodPost, base+"/start-session", strings.NewReader(`{"version":"1","guid":"g-run","orderId":"o-run",
		"orderAmount":49.90,"locale":"tr","returnUrl":"http://localhost:3000/return","type":"SALE","currency":"TRY",
		"customer":{"firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("akinon", "akinon-dev-password")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ RedirectURL, SessionID, TransactionID string }
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("start-session: %d %v", resp.StatusCode, err)
	}
	if out.RedirectURL != base+"/pay/"+out.SessionID || out.TransactionID == "" {
		t.Fatalf("start-session gatewaytest.Answer: %+v", out)
	}
	page, err := http.Get(out.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Fatalf("the hosted page: %d", page.StatusCode)
	}

	if err := stop(); err != nil {
		t.Fatalf("run after cancel = %v, want nil", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after run returned")
	}
}

func TestRunCheckConfig(t *testing.T) {
	if err := gatewaytest.Exec(context.Background(), []string{"-check-config"}, map[string]string{"DEV_MODE": "1", "ADDR": "127.0.0.1:1"}); err != nil {
		t.Fatalf("-check-config on a valid configuration: %v", err)
	}
	if err := gatewaytest.Exec(context.Background(), []string{"-no-such-flag"}, map[string]string{"DEV_MODE": "1"}); err == nil {
		t.Fatal("an unknown flag was accepted")
	}
}
