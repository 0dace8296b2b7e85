package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
)

// The steps of one checkout, as the load table reports them.
var loadSteps = []string{"start-session", "hosted-page", "return", "purchase", "refund", "history", "checkout"}

// endpointStep names the gateway calls in the table.
var endpointStep = map[string]string{
	commerce.EndpointStartSession: "start-session",
	commerce.EndpointPurchase:     "purchase",
	commerce.EndpointRefund:       "refund",
	commerce.EndpointHistory:      "history",
	commerce.EndpointVoid:         "void",
}

// stepStats gathers latencies and errors per step. It is safe for
// concurrent use.
type stepStats struct {
	mu     sync.Mutex
	took   map[string][]time.Duration
	errors map[string]int
}

func newStepStats() *stepStats {
	return &stepStats{took: map[string][]time.Duration{}, errors: map[string]int{}}
}

func (s *stepStats) add(step string, d time.Duration, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.took[step] = append(s.took[step], d)
	if failed {
		s.errors[step]++
	}
}

// observe counts every gateway call: anything but a 200 is an error.
func (s *stepStats) observe(x *commerce.Exchange) {
	step, ok := endpointStep[x.Endpoint]
	if !ok {
		step = x.Endpoint
	}
	s.add(step, x.Duration, x.Err != nil || x.Status != http.StatusOK)
}

// stepRow is one line of the table.
type stepRow struct {
	Step          string
	Count, Errors int
	P50, P95, P99 time.Duration
}

func (s *stepStats) rows() []stepRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []stepRow
	for _, step := range loadSteps {
		d := slices.Clone(s.took[step])
		slices.Sort(d)
		out = append(out, stepRow{Step: step, Count: len(d), Errors: s.errors[step],
			P50: percentile(d, 50), P95: percentile(d, 95), P99: percentile(d, 99)})
	}
	return out
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n)
	return sorted[max(rank, 1)-1]
}

// runLoad runs cfg.N checkouts, cfg.C at a time. Each is a SALE paid on
// the hosted page, purchased on return, refunded in part and read back
// with history.
func runLoad(ctx context.Context, cfg config, shop *commerce.Shop, stats *stepStats, stdout, stderr io.Writer) error {
	shopper := newHTTPShopper()
	fmt.Fprintf(stdout, "checkout: load on gateway %s, shop %s: %d checkouts, %d at a time\n", cfg.GatewayURL, shop.PublicURL(), cfg.N, cfg.C)

	var next, done, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	stopBar := progress(stderr, cfg.N, &done, &failed)
	start := time.Now()
	var wg sync.WaitGroup
	for range cfg.C {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for int(next.Add(1)) <= cfg.N && ctx.Err() == nil {
				t0 := time.Now()
				err := oneLoadCheckout(ctx, cfg, shop, shopper, stats)
				stats.add("checkout", time.Since(t0), err != nil)
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopBar()

	fmt.Fprintf(stdout, "\n%-14s %7s %7s %10s %10s %10s\n", "step", "count", "errors", "p50", "p95", "p99")
	for _, r := range stats.rows() {
		fmt.Fprintf(stdout, "%-14s %7d %7d %10s %10s %10s\n", r.Step, r.Count, r.Errors, ms(r.P50), ms(r.P95), ms(r.P99))
	}
	n := done.Load()
	fmt.Fprintf(stdout, "\n%d checkouts in %.2fs: %.1f checkouts/s (%d at a time), %d failed\n",
		n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), cfg.C, failed.Load())
	if cfg.WebhookHashKey != "" {
		// Every payment sends one webhook; give the stragglers a moment.
		wctx, cancel := context.WithTimeout(ctx, min(cfg.WebhookWait, 15*time.Second))
		st, _ := shop.WaitWebhooks(wctx, func(st commerce.WebhookStats) bool {
			return int64(st.Applied+st.Duplicates+st.Unmatched) >= n
		})
		cancel()
		fmt.Fprintf(stdout, "webhooks: %d received (one per payment expected: %d), %d taken, %d duplicates, %d refused, %.2fs after the last checkout\n",
			st.Received, n, st.Applied, st.Duplicates, st.Refused, time.Since(start.Add(elapsed)).Seconds())
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed.Load() > 0 {
		fmt.Fprintf(stdout, "first failure: %v\n", firstErr)
		return errFailed
	}
	return nil
}

func oneLoadCheckout(ctx context.Context, cfg config, shop *commerce.Shop, shopper *httpShopper, stats *stepStats) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	o := shop.NewOrder(commerce.OrderSpec{Amount: commerce.MustAmount("120.00"), Currency: "TRY", Type: commerce.Sale,
		Customer: commerce.Customer{FirstName: "Load", LastName: "Test", Email: "load@example.com"}})
	v, err := shopper.Checkout(ctx, shop, o, Payment{CardNumber: cardApproved}, nil)
	var pe *phaseError
	if errors.As(err, &pe) && pe.Phase == "shop" {
		return fmt.Errorf("order %s: %w", o.Number, err)
	}
	hostedFailed := errors.As(err, &pe) && pe.Phase == "hosted-page"
	stats.add("hosted-page", v.Hosted, hostedFailed)
	if hostedFailed {
		return fmt.Errorf("order %s: %w", o.Number, err)
	}
	stats.add("return", v.Return, err != nil)
	if err != nil {
		return fmt.Errorf("order %s: %w", o.Number, err)
	}
	if v.Page != commerce.PageThankYou || o.View().Status != commerce.OrderCompleted {
		return fmt.Errorf("order %s: ended on %s with status %s", o.Number, v.Page, o.View().Status)
	}
	if op := shop.Refund(ctx, o, commerce.MustAmount("20.00")); op.Describe() != "HTTP 200 RESOLVED/RESOLVED" {
		return fmt.Errorf("order %s: refund: %s", o.Number, op.Describe())
	}
	h, _, err := shop.History(ctx, o, commerce.HistoryRequest{})
	if err != nil {
		return fmt.Errorf("order %s: %w", o.Number, err)
	}
	if h.Balance != commerce.MustAmount("100.00") {
		return fmt.Errorf("order %s: balance %s after the refund, want 100.00", o.Number, h.Balance)
	}
	return nil
}

// progress draws a bar on stderr while the run lasts, only when stderr
// is a terminal; the returned func stops it.
func progress(w io.Writer, total int, done, failed *atomic.Int64) func() {
	f, ok := w.(*os.File)
	if !ok {
		return func() {}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	start := time.Now()
	draw := func() {
		n := int(done.Load())
		const width = 40
		filled := width * n / max(total, 1)
		rate := float64(n) / max(time.Since(start).Seconds(), 0.001)
		fmt.Fprintf(f, "\r[%s%s] %d/%d  %.1f/s  %d failed ", strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
			n, total, rate, failed.Load())
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				draw()
				fmt.Fprintln(f)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(stop); <-finished }
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}
