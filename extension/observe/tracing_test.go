package observe_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/observe"
	"github.com/akinon-gateway/gateway/extension/observe/otlptest"
	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestAPurchaseIsOneTrace: with tracing on, a purchase is a server span
// whose children are its Redis scripts (Begin, Finish: two EVALSHA) and
// its processor call (capture), all in one trace; recorded with the
// SDK's in-memory exporter.
func TestAPurchaseIsOneTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	srv := redistest.Shared(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	if err := observe.TraceRedis(rdb, tp); err != nil {
		t.Fatal(err)
	}
	prefix := redistest.Prefix(t)
	st := redisstore.New(rdb, prefix, 1)
	bank := sandbox.New(srv.Client(t), sandbox.Options{Prefix: prefix + "-bank"})
	svc := gatewaytest.Service(st, observe.Processor(sandbox.Name, bank, nil, tp), provider.DefaultConfig())
	m := &extension.Merchant{Merchant: provider.Merchant{ID: "m", InstallmentRates: provider.DefaultInstallmentRates()},
		Username: "u", Password: "p", HashKey: strings.Repeat("k", 32), HashScheme: hashing.DefaultScheme}
	ms, _ := extension.NewMerchants([]*extension.Merchant{m})
	gw := extension.New(extension.Options{Service: svc, Merchants: ms, PublicURL: "https://gw.example"})
	observe.TraceRequests(gw.Echo(), tp)

	post := func(path, body string) int {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("u", "p")
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		return rec.Code
	}
	paid := func(order string) {
		if code := post("/start-session", `{"guid":"s-`+order+`","orderId":"`+order+`","orderAmount":10,"locale":"en","returnUrl":"https://shop.example/r",
		"type":"SALE","currency":"TRY","customer":{"firstName":"A","lastName":"B","email":"a@example.com"}}`); code != 200 {
			t.Fatalf("start-session: %d", code)
		}
		sess, _ := st.Order(context.Background(), "m", order)
		if _, err := svc.Pay(context.Background(), &m.Merchant, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"}); err != nil {
			t.Fatal(err)
		}
	}
	// A first purchase loads the scripts (EVALSHA, then EVAL once).
	paid("o0")
	post("/purchase", `{"guid":"p0","orderId":"o0"}`)
	paid("o1")
	exp.Reset()
	if code := post("/purchase", `{"guid":"p1","orderId":"o1"}`); code != 200 {
		t.Fatalf("purchase: %d", code)
	}

	spans := exp.GetSpans()
	var root tracetest.SpanStub
	for _, s := range spans {
		if s.Name == "/purchase" || s.Name == "POST /purchase" {
			root = s
		}
	}
	if !root.SpanContext.IsValid() {
		t.Fatalf("no server span for the purchase among %d spans", len(spans))
	}
	var children []string
	for _, s := range spans {
		if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("span %s is in another trace", s.Name)
		}
		if s.Parent.SpanID() == root.SpanContext.SpanID() {
			children = append(children, s.Name)
		}
	}
	sort.Strings(children)
	got := strings.Join(children, ", ")
	if got != "evalsha, evalsha, processor capture" {
		t.Fatalf("the purchase's children: %s; want its two scripts and its capture", got)
	}
	t.Logf("trace of one purchase: %s → %s (%s in all)", root.Name, got, root.EndTime.Sub(root.StartTime).Round(time.Microsecond))
}

// TestTracingExportsToACollector builds tracing as the gateway does
// (Tracing, with its real resource and OTLP/HTTP exporter) and sends a
// span to a local receiver, which must get it under the gateway's name.
func TestTracingExportsToACollector(t *testing.T) {
	recv := otlptest.Start(t)
	tp, err := observe.Tracing(context.Background(), recv.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "a span")
	span.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := recv.Spans()
	if len(got) != 1 || got[0] != (otlptest.Span{Name: "a span", Service: observe.ServiceName}) {
		t.Fatalf("the receiver got %+v (refused %v), want the one span of %s", got, recv.Refused(), observe.ServiceName)
	}
}
