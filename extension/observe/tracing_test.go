package observe_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/akinon-gateway/gateway/cmd/gateway/app"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/extension/observe"
	"github.com/akinon-gateway/gateway/extension/observe/otlptest"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestAPurchaseIsOneTrace: with tracing on, a purchase is a server span
// whose children are its Redis scripts (Begin, Finish: two EVALSHA) and
// its processor call (capture), all in one trace; a gateway from the
// test kit traced through the SDK's in-memory exporter.
func TestAPurchaseIsOneTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	// The background work waits an hour, so the spans of the purchase's
	// window are the purchase's.
	quiet := map[string]string{"JOBS_INTERVAL": "1h", "RECONCILE_INTERVAL": "1h", "READY_INTERVAL": "1h", "WEBHOOK_POLL": "1h"}
	g := gatewaytest.Start(t, gatewaytest.Env(gatewaytest.FreeAddr(t), redistest.Start(t).URL(), "", quiet), app.WithTracerProvider(tp))
	a := gatewaytest.AkinonAt(g.Base)
	post := func(path, body string) int {
		ans := a.PostRaw(path, []byte(body))
		if ans.Err != nil {
			t.Fatalf("%s: %v", path, ans.Err)
		}
		return ans.Status
	}
	paid := func(order string) {
		_, redirect := a.StartSession(t, order)
		gatewaytest.MustShop(t, redirect, sandbox.CardApproved)
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
		if s.SpanContext.TraceID() != root.SpanContext.TraceID() && !s.StartTime.Before(root.StartTime) && !s.EndTime.After(root.EndTime) {
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
