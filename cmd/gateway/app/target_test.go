package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/cmd/gateway/app"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestTargetProvider runs a gateway whose first merchant has two
// processors and whose second has the sandbox only: targetProvider
// chooses the bank a payment reaches, a session naming none goes to the
// merchant's first, and a name the merchant does not have is a 400.
func TestTargetProvider(t *testing.T) {
	store := redistest.Start(t)
	file := gatewaytest.MerchantsFile(t, `[{"name": "sandbox"}, {"name": "otherbank", "clientId": "700100", "storeKey": "k"}]`, `{"name": "sandbox"}`)
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), store.URL(), "", map[string]string{"MERCHANTS_FILE": file}),
		app.WithProcessorKinds(app.OtherBankKind()))
	rdb := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(store.URL(), "redis://")})
	t.Cleanup(func() { _ = rdb.Close() })
	effects := func(prefix string) int { return sandbox.New(rdb, sandbox.Options{Prefix: prefix}).Effects("Authorise") }
	first := gatewaytest.AkinonAt(base)
	second := gatewaytest.Akinon{Base: base, User: gatewaytest.User + "-1", Password: gatewaytest.Password + "-1"}

	for _, tc := range []struct {
		name   string
		as     gatewaytest.Akinon
		target string
		status int
		bank   string // whose books the approved payment reaches
	}{
		{"named: the other bank", first, "otherbank", http.StatusOK, app.OtherBankPrefix},
		{"named: the sandbox", first, "sandbox", http.StatusOK, "sbx"},
		{"none: the merchant's first", first, "", http.StatusOK, "sbx"},
		{"not registered", first, "akbank", http.StatusBadRequest, ""},
		{"registered, not the merchant's", second, "otherbank", http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]int{"sbx": effects("sbx"), app.OtherBankPrefix: effects(app.OtherBankPrefix)}
			body := gatewaytest.StartBody(strings.ReplaceAll(tc.name, " ", "-"))
			if tc.target != "" {
				body["targetProvider"] = tc.target
			}
			ans := tc.as.Post("/start-session", body)
			if ans.Err != nil || ans.Status != tc.status {
				t.Fatalf("start-session: %v, want %d", ans, tc.status)
			}
			if tc.status != http.StatusOK {
				if !strings.Contains(strings.ToLower(string(ans.Body)), "targetprovider") {
					t.Errorf("the refusal does not name targetProvider: %s", ans.Body)
				}
				return
			}
			var out struct{ RedirectURL string }
			if err := ans.Decode(&out); err != nil {
				t.Fatal(err)
			}
			gatewaytest.MustShop(t, out.RedirectURL, sandbox.CardApproved)
			for prefix, was := range before {
				want := was
				if prefix == tc.bank {
					want++
				}
				if got := effects(prefix); got != want {
					t.Errorf("bank %s: %d authorisations, want %d", prefix, got, want)
				}
			}
		})
	}
}
