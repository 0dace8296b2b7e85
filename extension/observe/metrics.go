// Package observe is what operators of the gateway watch: Prometheus
// metrics and OpenTelemetry traces. It wraps the parts — the processor,
// the store, the webhook outbox, the HTTP router — rather than reaching
// into them, so the domain knows nothing of either.
package observe

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/akinon-gateway/gateway/provider"
)

// Metrics are the gateway's Prometheus metrics, on a registry of their
// own (with Go's runtime and the process).
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	calls       *prometheus.CounterVec
	callLatency *prometheus.HistogramVec
	// processorErrors counts the failures the service reports (ProcessorFailures).
	processorErrors *prometheus.CounterVec
	idempotency     *prometheus.CounterVec
	storeErrors     *prometheus.CounterVec
	reconciled      *prometheus.CounterVec
	attempts        *prometheus.CounterVec
	attemptTime     prometheus.Histogram
	throttled       *prometheus.CounterVec
	reconcileRun    prometheus.Counter
	testParts       *prometheus.GaugeVec
}

// State is what the metrics read at scrape time from the store: what is
// in doubt and the outbox.
type State interface {
	Doubts(ctx context.Context) ([]provider.Doubt, error)
	OutboxStats(ctx context.Context, now time.Time) (provider.OutboxStats, error)
}

// NewMetrics registers the gateway's metrics; state is read at each
// scrape.
func NewMetrics(state State) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_http_requests_total",
		Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_http_request_duration_seconds",
		Help: "HTTP request latency by route and method.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"route", "method"})
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_processor_calls_total",
		Help: "Processor calls by processor, operation and outcome (approved, declined, fraud, pending, challenge, transient, no_answer, received, not_received)."},
		[]string{"processor", "operation", "outcome"})
	m.callLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_processor_call_duration_seconds",
		Help: "Processor call latency by processor and operation.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"processor", "operation"})
	m.processorErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_processor_errors_total",
		Help: "Processor calls that ended in an error instead of an answer, as the service met them, by processor, operation and kind (transient: the bank did nothing; no_answer: it may have acted)."},
		[]string{"processor", "operation", "kind"})
	m.idempotency = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_idempotency_total",
		Help: "What a guid's arrival found: new, replayed, in_flight, reused, refused (a rule, stored), order_busy."}, []string{"outcome"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_store_errors_total",
		Help: "Store calls that failed, by call and kind (unavailable, not_durable, other)."}, []string{"call", "kind"})
	m.reconciled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_reconciled_total",
		Help: "Work in doubt the reconciler handled: settled (by inquiry), not_received, dropped (already settled), postponed."}, []string{"result"})
	m.reconcileRun = prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_reconciler_errors_total",
		Help: "Reconciler passes that met an error."})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_webhook_attempts_total",
		Help: "Webhook attempts by outcome (delivered, retry, dead, gone)."}, []string{"outcome"})
	m.attemptTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gateway_webhook_attempt_duration_seconds",
		Help: "Webhook attempt latency.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)})
	m.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_throttled_total",
		Help: "Requests refused by a throttle: auth_ip, auth_user, card_ip, card_merchant, card_bin."}, []string{"throttle"})
	m.testParts = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gateway_not_for_production",
		Help: "1 for each part running that is not for production: sandbox (the test bank takes payments), embedded_store (the in-memory store)."},
		[]string{"part"})
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.calls, m.callLatency, m.processorErrors, m.idempotency, m.storeErrors,
		m.reconciled, m.reconcileRun, m.attempts, m.attemptTime, m.throttled, m.testParts} {
		f(c)
	}
	if state != nil {
		f(&stateCollector{state: state})
	}
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Middleware counts every request by route (the route's pattern, never
// the raw path: an attacker must not create series), method and status.
func (m *Metrics) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request().Method
		switch method {
		case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions:
		default:
			method = "other"
		}
		m.requests.WithLabelValues(route, method, strconv.Itoa(c.Response().Status)).Inc()
		m.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		return nil
	}
}

// NotForProduction records that a part not for production runs.
func (m *Metrics) NotForProduction(part string) { m.testParts.WithLabelValues(part).Set(1) }

// Throttled counts a throttle's refusal (extension.Throttle.Refused).
func (m *Metrics) Throttled(name string) { m.throttled.WithLabelValues(name).Inc() }

// Reconciled counts one reconciler pass (provider.Service.RunReconciler).
func (m *Metrics) Reconciled(rep provider.ReconcileReport, err error) {
	m.reconciled.WithLabelValues("settled").Add(float64(rep.Settled))
	m.reconciled.WithLabelValues("not_received").Add(float64(rep.NotReceived))
	m.reconciled.WithLabelValues("dropped").Add(float64(rep.Dropped))
	m.reconciled.WithLabelValues("postponed").Add(float64(rep.Postponed))
	if err != nil {
		m.reconcileRun.Inc()
	}
}

func (m *Metrics) storeError(call string, err error) {
	if err == nil {
		return
	}
	kind := "other"
	switch {
	case errors.Is(err, provider.ErrNotFound):
		return
	case errors.Is(err, provider.ErrNotDurable):
		kind = "not_durable"
	case errors.Is(err, provider.ErrUnavailable):
		kind = "unavailable"
	}
	m.storeErrors.WithLabelValues(call, kind).Inc()
}

// stateCollector reads what is in doubt and the outbox at each scrape.
type stateCollector struct{ state State }

var (
	inDoubtDesc = prometheus.NewDesc("gateway_in_doubt", "Work not settled yet, by kind (op, pay) and whether it is past its deadline.",
		[]string{"kind", "overdue"}, nil)
	oldestDoubtDesc = prometheus.NewDesc("gateway_in_doubt_oldest_overdue_seconds", "How long the oldest overdue entry is past its deadline.", nil, nil)
	depthDesc       = prometheus.NewDesc("gateway_outbox_depth", "Webhook events waiting for an attempt.", nil, nil)
	oldestDueDesc   = prometheus.NewDesc("gateway_outbox_oldest_due_age_seconds", "Age of the oldest due webhook attempt.", nil, nil)
	deadDesc        = prometheus.NewDesc("gateway_webhook_dead_letters", "Parked webhook events.", nil, nil)
	scrapeErrDesc   = prometheus.NewDesc("gateway_state_scrape_error", "1 when the store could not be read for this scrape.", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{inDoubtDesc, oldestDoubtDesc, depthDesc, oldestDueDesc, deadDesc, scrapeErrDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	now := time.Now()
	failed := 0.0
	if ds, err := c.state.Doubts(ctx); err != nil {
		failed = 1
	} else {
		counts := map[[2]string]float64{{"op", "false"}: 0, {"op", "true"}: 0, {"pay", "false"}: 0, {"pay", "true"}: 0}
		oldest := 0.0
		for _, d := range ds {
			overdue := now.After(d.Deadline)
			counts[[2]string{string(d.Kind), strconv.FormatBool(overdue)}]++
			if overdue {
				oldest = max(oldest, now.Sub(d.Deadline).Seconds())
			}
		}
		for k, v := range counts {
			ch <- prometheus.MustNewConstMetric(inDoubtDesc, prometheus.GaugeValue, v, k[0], k[1])
		}
		ch <- prometheus.MustNewConstMetric(oldestDoubtDesc, prometheus.GaugeValue, oldest)
	}
	if st, err := c.state.OutboxStats(ctx, now); err != nil {
		failed = 1
	} else {
		age := 0.0
		if !st.OldestDue.IsZero() {
			age = now.Sub(st.OldestDue).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(st.Depth))
		ch <- prometheus.MustNewConstMetric(oldestDueDesc, prometheus.GaugeValue, age)
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(st.Dead))
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, failed)
}
