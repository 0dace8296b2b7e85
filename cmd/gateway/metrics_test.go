package main

import (
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// scrape reads /metrics into families, as Prometheus would.
func scrape(t *testing.T, u, user, pass string) (map[string]*dto.MetricFamily, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return nil, resp.StatusCode
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams, resp.StatusCode
}

// value is the sum of a family's samples whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	sum := 0.0
	f := fams[name]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			ok = ok && labels[k] == v
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// TestMetricsMoveWithAFlow: /metrics (behind the operator's credentials on
// the main listener) is scraped before and after a flow — a payment, a
// purchase, a refund and its replay, a delivered webhook, a flood of
// wrong passwords — and every metric the flow touches has moved.
func TestMetricsMoveWithAFlow(t *testing.T) {
	h := mustHook(t, true)
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), redistest.Start(t).URL(), h.URL, map[string]string{
		"ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "ops-password-123", "THROTTLE_AUTH_IP": "3/1m", "LOG_LEVEL": "error"}))
	if _, code := scrape(t, base+"/metrics", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without the operator's credentials: %d", code)
	}
	before, _ := scrape(t, base+"/metrics", "ops", "ops-password-123")

	_, redirect := gatewaytest.AkinonAt(base).StartSession(t, "o-metrics")
	gatewaytest.MustShop(t, redirect, sandbox.CardApproved)
	gatewaytest.AkinonAt(base).Call(t, "/purchase", map[string]any{"guid": "p-m", "orderId": "o-metrics"}, nil)
	refund := map[string]any{"guid": "r-m", "orderId": "o-metrics", "amount": 10, "currency": "TRY"}
	gatewaytest.AkinonAt(base).Call(t, "/refund", refund, nil)
	gatewaytest.AkinonAt(base).Call(t, "/refund", refund, nil) // replayed
	for range 5 {
		req, _ := http.NewRequest(http.MethodPost, base+"/history", strings.NewReader("{}"))
		req.SetBasicAuth(gatewaytest.User, "wrong-password-000")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	redistest.Eventually(t, 10*time.Second, "the payment's webhook", func() bool { byEvent, _, _ := h.accepted(); return len(byEvent) == 1 })

	var after map[string]*dto.MetricFamily
	checks := []struct {
		name   string
		labels map[string]string
	}{
		{"gateway_http_requests_total", map[string]string{"route": "/refund", "method": "POST", "status": "200"}},
		{"gateway_http_requests_total", map[string]string{"route": "/pay/:sid", "method": "POST", "status": "200"}},
		{"gateway_http_request_duration_seconds", map[string]string{"route": "/purchase"}},
		{"gateway_processor_calls_total", map[string]string{"operation": "authorise", "outcome": "approved"}},
		{"gateway_processor_calls_total", map[string]string{"operation": "capture", "outcome": "approved"}},
		{"gateway_processor_calls_total", map[string]string{"operation": "refund", "outcome": "approved"}},
		{"gateway_processor_call_duration_seconds", map[string]string{"operation": "refund"}},
		{"gateway_idempotency_total", map[string]string{"outcome": "new"}},
		{"gateway_idempotency_total", map[string]string{"outcome": "replayed"}},
		{"gateway_webhook_attempts_total", map[string]string{"outcome": "delivered"}},
		{"gateway_throttled_total", map[string]string{"throttle": "auth_ip"}},
		{"go_goroutines", nil},
	}
	redistest.Eventually(t, 5*time.Second, "the flow's metrics", func() bool {
		after, _ = scrape(t, base+"/metrics", "ops", "ops-password-123")
		for _, c := range checks {
			if value(after, c.name, c.labels) <= max(value(before, c.name, c.labels), 0) && c.name != "go_goroutines" {
				return false
			}
		}
		return true
	})
	for _, c := range checks {
		labels := make([]string, 0, len(c.labels))
		for k, v := range c.labels {
			labels = append(labels, k+"="+strconv.Quote(v))
		}
		sort.Strings(labels)
		t.Logf("%s{%s}: %g → %g", c.name, strings.Join(labels, ","), max(value(before, c.name, c.labels), 0), value(after, c.name, c.labels))
	}
	for _, gauge := range []string{"gateway_in_doubt", "gateway_outbox_depth", "gateway_outbox_oldest_due_age_seconds", "gateway_webhook_dead_letters"} {
		if value(after, gauge, nil) < 0 {
			t.Errorf("%s is not exported", gauge)
		}
	}
	if v := value(after, "gateway_state_scrape_error", nil); v != 0 {
		t.Errorf("the store could not be read at scrape time")
	}
}
