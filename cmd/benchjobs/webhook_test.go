package benchjobs_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
)

// merchants is the one merchant's webhook target, for the encoder and
// the senders.
type merchants struct{ url string }

func (m *merchants) Webhook(string) (string, string, bool) {
	return m.url, "webhook-key-bench-0123456789abcdef0123", true
}

// nowhere is a target the jobs' benchmarks write events for but never
// deliver to.
func nowhere() *merchants { return &merchants{url: "http://127.0.0.1:9/hooks"} }

// receiver counts deliveries by event id.
type receiver struct {
	mu     sync.Mutex
	seen   map[string]int
	total  int
	filled chan struct{}
	want   int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	id := r.Header.Get(hashing.HeaderWebhookID)
	rc.mu.Lock()
	rc.seen[id]++
	rc.total++
	if len(rc.seen) == rc.want && rc.seen[id] == 1 {
		close(rc.filled)
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// BenchmarkWebhookDrain seeds BENCH_WEBHOOK_EVENTS due events (the
// webhooks of as many expired sessions) and times three replicas'
// senders, 16 attempts in flight each as the gateway runs them, until a
// local receiver has every one; it reports events/s and the duplicates
// the receiver saw.
func BenchmarkWebhookDrain(b *testing.B) {
	n := items(b, "BENCH_WEBHOOK_EVENTS", 100_000)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rc := &receiver{seen: map[string]int{}, filled: make(chan struct{}), want: n}
		srv := httptest.NewServer(rc)
		hooks := &merchants{url: srv.URL + "/hooks"}
		r := mustRig(b, hooks)
		r.svc.SetClock(func() time.Time { return time.Now().Add(-2 * provider.DefaultConfig().SessionTTL) })
		r.startSessions(b, fmt.Sprintf("hook%d", i), n)
		r.svc.SetClock(time.Now)
		drain(b, n, 4, 30*time.Minute, func() (int, error) {
			rep, err := r.svc.RunJobsOnce(context.Background())
			return rep.Expired, err
		})
		if st, err := r.store.OutboxStats(context.Background(), time.Now()); err != nil || st.Depth != int64(n) {
			b.Fatalf("the outbox holds %+v (%v), want %d events", st, err, n)
		}

		// The senders log every delivery at info, as the gateway does;
		// the lines are formatted and thrown away.
		log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel))
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		self, server := r.cpu(b)
		b.StartTimer()
		start := time.Now()
		for k := range 3 {
			s := webhook.NewSender(r.store, hooks, nil, webhook.Config{
				Schedule: []time.Duration{0, 10 * time.Second, time.Minute}, Timeout: 10 * time.Second, Workers: 16,
				Poll: 500 * time.Millisecond, Retention: 7 * 24 * time.Hour, Replica: fmt.Sprintf("replica-%d", k+1),
				AllowPrivate: true,
			}, log)
			wg.Go(func() { s.Run(ctx) })
		}
		select {
		case <-rc.filled:
		case <-time.After(30 * time.Minute):
			b.Fatalf("the receiver has %d of %d events after 30 minutes", len(rc.seen), n)
		}
		took := time.Since(start)
		b.StopTimer()
		r.reportCPU(b, n, self, server)
		cancel()
		wg.Wait()
		srv.Close()
		if st, err := r.store.OutboxStats(context.Background(), time.Now()); err != nil || st.Depth != 0 {
			b.Errorf("after the drain the outbox holds %+v (%v), want nothing waiting", st, err)
		}
		rc.mu.Lock()
		dups := rc.total - len(rc.seen)
		rc.mu.Unlock()
		b.ReportMetric(float64(n)/took.Seconds(), "events/s")
		b.ReportMetric(float64(dups), "duplicates")
	}
}
