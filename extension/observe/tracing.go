package observe

import (
	"context"
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/github.com/labstack/echo/otelecho"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the gateway's name in traces.
const ServiceName = "akinon-gateway"

// Tracing sends traces to an OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT;
// the exporter reads OpenTelemetry's other OTEL_* variables itself). It
// returns the provider and its shutdown, which flushes what is batched.
func Tracing(ctx context.Context, endpoint, version string) (*sdktrace.TracerProvider, error) {
	// OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; traces go
	// to its /v1/traces, as OpenTelemetry's specification says.
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	// Schemaless: resource.Default carries the SDK's own semconv schema,
	// and merging two resources of different schemas is an error.
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(ServiceName), semconv.ServiceVersion(version)))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp, nil
}

// TraceRequests gives every request of e a server span (Echo's own
// instrumentation), carrying the route, and continuing an incoming
// traceparent.
func TraceRequests(e *echo.Echo, tp trace.TracerProvider) {
	e.Use(otelecho.Middleware(ServiceName, otelecho.WithTracerProvider(tp),
		otelecho.WithPropagators(propagation.TraceContext{})))
}

// TraceRedis gives every Redis command and pipeline of rdb a span
// (go-redis's own instrumentation): each Lua script is an EVALSHA span,
// a child of the request's.
func TraceRedis(rdb redis.UniversalClient, tp trace.TracerProvider) error {
	return redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(tp), redisotel.WithDBStatement(false))
}
