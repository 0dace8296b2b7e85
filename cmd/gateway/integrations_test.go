package main

import (
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/extension/observe"
	"github.com/akinon-gateway/gateway/extension/observe/otlptest"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestEveryIntegrationOn starts the binary in a production configuration
// with every optional integration on: tracing to a local OTLP/HTTP
// receiver, webhooks (to a URL with credentials), the operator listener
// ADMIN_ADDR, on a redis-server and, with GATEWAY_HA=1, on Sentinel and
// Cluster. Each must serve: a payment, a PENDING one resolved by
// webhook, spans received, the console and /metrics on ADMIN_ADDR only,
// and URLs in the log masked.
func TestEveryIntegrationOn(t *testing.T) {
	topologies := []struct {
		name  string
		ha    bool
		store func(t *testing.T) map[string]string
	}{
		{"redis-server", false, func(t *testing.T) map[string]string {
			return map[string]string{"REDIS_URL": redistest.Start(t, redistest.Args("--maxmemory-policy", "noeviction")).URL()}
		}},
		{"sentinel", true, func(t *testing.T) map[string]string {
			return map[string]string{"REDIS_URL": redistest.StartSentinel(t, redistest.Safe()).URL(), "REDIS_MIN_REPLICAS": "1"}
		}},
		{"cluster", true, func(t *testing.T) map[string]string {
			return map[string]string{"REDIS_URL": redistest.StartCluster(t, redistest.Safe()).URL(), "REDIS_MIN_REPLICAS": "1", "REDIS_SHARDS": "16"}
		}},
	}
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			if topo.ha && os.Getenv("GATEWAY_HA") == "" {
				t.Skip("set GATEWAY_HA=1 (make test-ha) to start Sentinel and Cluster topologies")
			}
			recv := otlptest.Start(t)
			h := mustHook(t, true)
			const hookSecret, otlpSecret = "hook-s3cret", "otlp-t0ken"
			hookURL := strings.Replace(h.URL, "http://", "http://shop:"+hookSecret+"@", 1) + "/orders/hooks/payment?token=" + hookSecret
			admin, addr := gatewaytest.FreeAddr(t), gatewaytest.FreeAddr(t)
			env := map[string]string{
				"ADDR": addr, "PUBLIC_URL": "http://" + addr,
				"GATEWAY_USERNAME": gatewaytest.User, "GATEWAY_PASSWORD": gatewaytest.Password, "HASH_KEY": gatewaytest.HashKey,
				"PROCESSOR": sandbox.Name, "ALLOW_SANDBOX": "1",
				"WEBHOOK_URL": hookURL, "WEBHOOK_HASH_KEY": gatewaytest.WebhookKey, "WEBHOOK_ALLOW_PRIVATE": "1",
				"WEBHOOK_POLL": "50ms", "JOBS_INTERVAL": "100ms", "SANDBOX_PENDING_DELAY": "1s",
				"ADMIN_ADDR": admin, "ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "ops-password-long",
				"OTEL_EXPORTER_OTLP_ENDPOINT": strings.Replace(recv.URL, "http://", "http://"+otlpSecret+"@", 1),
				"OTEL_BSP_SCHEDULE_DELAY":     "200", // OpenTelemetry's own: export batches every 200 ms
			}
			for k, v := range topo.store(t) {
				env[k] = v
			}
			d := deploy(t, env, nil)
			order := d.payOnce(t, gatewaytest.User, gatewaytest.Password)

			sid, redirect := startSessionAs(t, d, "pending-"+order)
			if page := payByCardAt(t, redirect, sandbox.CardPendingOK); !strings.Contains(page, "PENDING") {
				t.Fatalf("the PENDING card's page:\n%s", page)
			}
			redistest.Eventually(t, 20*time.Second, "the webhook of the PENDING payment, RESOLVED", func() bool {
				return h.statusBySession()[sid] == "RESOLVED"
			})
			if _, _, bad := h.accepted(); len(bad) > 0 {
				t.Errorf("webhooks the receiver refused: %v", bad)
			}

			redistest.Eventually(t, 10*time.Second, "spans of a request and of its Redis scripts at the receiver", func() bool {
				var server, script bool
				for _, s := range recv.Spans() {
					server = server || s.Service == observe.ServiceName && strings.Contains(s.Name, "/start-session")
					script = script || s.Service == observe.ServiceName && strings.Contains(strings.ToLower(s.Name), "evalsha")
				}
				return server && script
			})
			names := map[string]int{}
			for _, s := range recv.Spans() {
				names[s.Name]++
			}
			t.Logf("the receiver got %d spans of %s: %v", len(recv.Spans()), observe.ServiceName, names)

			get := func(u string) (int, string) {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.SetBasicAuth("ops", "ops-password-long")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			// The single merchant's order, found without merchant=.
			if code, page := get("http://" + admin + "/admin/order?orderId=" + order); code != http.StatusOK || !strings.Contains(page, order) {
				t.Errorf("the console's order page on ADMIN_ADDR: %d", code)
			}
			if code, _ := get("http://" + admin + "/metrics"); code != http.StatusOK {
				t.Errorf("/metrics on ADMIN_ADDR: %d", code)
			}
			if code, _ := get(d.base + "/admin/"); code != http.StatusNotFound {
				t.Errorf("/admin/ on the public listener: %d, want 404", code)
			}

			out := d.out.String()
			for _, secret := range []string{hookSecret, otlpSecret} {
				if strings.Contains(out, secret) {
					t.Errorf("the log shows %q", secret)
				}
			}
			masked := `"webhook_url":"http://shop:***@` + strings.TrimPrefix(h.URL, "http://") + `/orders/hooks/payment?token=***"`
			if !strings.Contains(out, masked) {
				t.Errorf("the configuration line does not show %s", masked)
			}
		})
	}
}

// startSessionAs starts a SALE session on a deployment and returns its id
// and the hosted page, reached through the listener.
func startSessionAs(t *testing.T, d *deployment, order string) (sid, page string) {
	t.Helper()
	out := d.call(t, gatewaytest.User, gatewaytest.Password, "/start-session", map[string]any{
		"version": "1", "guid": order + "-start", "orderId": order, "orderAmount": 50, "locale": "en",
		"returnUrl": "https://shop.example.com/return", "type": "SALE", "currency": "TRY",
		"customer": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
	})
	sid, _ = out["sessionId"].(string)
	redirect, _ := out["redirectUrl"].(string)
	return sid, d.local(redirect)
}
