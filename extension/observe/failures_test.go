package observe_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/extension/observe"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestProcessorErrorsAreLoggedAndCounted: a payment whose processor call
// fails is logged at the service boundary (merchant, processor,
// operation, reference, kind, error; never the card) and counted by
// processor, operation and kind, beside the calls by processor and
// outcome.
func TestProcessorErrorsAreLoggedAndCounted(t *testing.T) {
	for _, tc := range []struct {
		name, card string
		latency    time.Duration
		kind       string
		errors     int // failed calls reported
		outcome    string
	}{
		{name: "transient twice, then approved", card: sandbox.CardTransient, kind: "transient", errors: 2, outcome: "approved"},
		{name: "no answer within the call's time", card: sandbox.CardApproved, latency: 300 * time.Millisecond, kind: "no_answer", errors: 1, outcome: "no_answer"},
		{name: "approved at once", card: sandbox.CardApproved, outcome: "approved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Shared(t)
			prefix := redistest.Prefix(t)
			st := redisstore.New(srv.Client(t), prefix, 1)
			bank := sandbox.New(srv.Client(t), sandbox.Options{Prefix: prefix + "-bank", Latency: tc.latency})
			m := observe.NewMetrics(nil)
			cfg := provider.DefaultConfig()
			cfg.CallTimeout, cfg.Backoff = 100*time.Millisecond, time.Millisecond
			svc := gatewaytest.Service(st, observe.Processor(sandbox.Name, bank, m, nil), cfg)
			core, logs := observer.New(zap.WarnLevel)
			svc.SetProcessorFailures(observe.ProcessorFailures(zap.New(core), m))

			merchant := &provider.Merchant{ID: "shop-7", InstallmentRates: provider.DefaultInstallmentRates()}
			if _, err := svc.StartSession(context.Background(), provider.StartInput{
				Request: provider.Request{Merchant: merchant, GUID: "s-1", OrderID: "o-1", Fingerprint: "s-1"},
				Type:    provider.Sale, Amount: 1000, Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"}); err != nil {
				t.Fatalf("start-session: %v", err)
			}
			sess, err := st.Order(context.Background(), "shop-7", "o-1")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = svc.Pay(context.Background(), merchant, sess, provider.CardForm{CardHolder: "A B", CardNumber: tc.card, Expiry: "12/39", CVC: "123"})

			var reported int
			for _, e := range logs.All() {
				if e.Message != "processor error" {
					continue
				}
				reported++
				f := e.ContextMap()
				want := map[string]any{"merchant": "shop-7", "processor": sandbox.Name, "operation": "authorise",
					"reference": provider.PaymentReference(sess.ID), "kind": tc.kind}
				for k, v := range want {
					if f[k] != v {
						t.Errorf("log field %s = %v, want %v", k, f[k], v)
					}
				}
				if f["error"] == nil || f["error"] == "" {
					t.Error("the log line has no error")
				}
				if line, _ := json.Marshal(f); strings.Contains(string(line), tc.card) || strings.Contains(string(line), `"cvc"`) {
					t.Errorf("the log line shows card data: %s", line)
				}
			}
			if reported != tc.errors {
				t.Errorf("%d processor errors logged, want %d", reported, tc.errors)
			}
			metrics := scrapeText(t, m)
			if tc.errors > 0 {
				wantLine := `gateway_processor_errors_total{kind="` + tc.kind + `",operation="authorise",processor="sandbox"} ` + strconv.Itoa(tc.errors)
				if !strings.Contains(metrics, wantLine) {
					t.Errorf("the metrics lack %s:\n%s", wantLine, grepLines(metrics, "gateway_processor_"))
				}
			} else if strings.Contains(metrics, "gateway_processor_errors_total{") {
				t.Errorf("errors counted for a payment without any:\n%s", grepLines(metrics, "gateway_processor_errors_total"))
			}
			if want := `gateway_processor_calls_total{operation="authorise",outcome="` + tc.outcome + `",processor="sandbox"}`; !strings.Contains(metrics, want) {
				t.Errorf("the metrics lack %s:\n%s", want, grepLines(metrics, "gateway_processor_calls_total"))
			}
		})
	}
}

func scrapeText(t *testing.T, m *observe.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
