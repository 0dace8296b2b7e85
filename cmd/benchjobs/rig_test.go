package benchjobs_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// rig is the gateway's background side on a redis-server of its own: the
// store, the sandbox bank keeping its books there too, and the service.
type rig struct {
	rdb   *redis.Client
	store *redisstore.Store
	bank  *sandbox.Processor
	svc   *provider.Service
	merch *provider.Merchant
}

func mustRig(b *testing.B, hooks *merchants) *rig {
	b.Helper()
	rs := redistest.Start(b, redistest.Args("--maxmemory-policy", "noeviction"))
	rdb := rs.Client(b)
	st := redisstore.New(rdb, "gw", 1)
	bank := sandbox.New(rdb, sandbox.Options{Prefix: "sbx", PendingDelay: time.Millisecond})
	svc := gatewaytest.Service(st, bank, provider.DefaultConfig())
	// Events on, as the gateway runs: each expiry or resolution writes its
	// webhook into the outbox in the same script.
	svc.SetEvents(webhook.NewEncoder(hooks, []time.Duration{0}))
	return &rig{rdb: rdb, store: st, bank: bank, svc: svc, merch: &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}}
}

// cpu is the CPU time this process (the gateway's side) and the rig's
// redis-server have used so far.
func (r *rig) cpu(b *testing.B) (self, server time.Duration) {
	b.Helper()
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	info, err := r.rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var secs float64
	for line := range strings.Lines(info) {
		name, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_sys" || name == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			secs += f
		}
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()), time.Duration(secs * float64(time.Second))
}

// reportCPU reports the CPU both sides spent per item since the
// readings self0 and server0, in µs: a figure the machine's other
// tenants move less than items/s.
func (r *rig) reportCPU(b *testing.B, n int, self0, server0 time.Duration) {
	b.Helper()
	self, server := r.cpu(b)
	b.ReportMetric(float64((self-self0).Microseconds())/float64(n), "gw-µs/item")
	b.ReportMetric(float64((server-server0).Microseconds())/float64(n), "redis-µs/item")
}

// items is how many items a benchmark seeds: BENCH_JOBS_N, or def.
func items(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s: %q is not a positive whole number", name, v)
	}
	return n
}

// parallel runs f(i) for i in [0, n) on workers goroutines and fails on
// the first error.
func parallel(b *testing.B, n, workers int, f func(i int) error) {
	b.Helper()
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}

// startSessions starts n SALE sessions (orders prefix-0…) at the
// service's clock.
func (r *rig) startSessions(b *testing.B, prefix string, n int) {
	b.Helper()
	ctx := context.Background()
	parallel(b, n, 16, func(i int) error {
		order := prefix + "-" + strconv.Itoa(i)
		_, err := r.svc.StartSession(ctx, provider.StartInput{
			Request: provider.Request{Merchant: r.merch, GUID: "s-" + order, OrderID: order, Fingerprint: "fp-" + order},
			Type:    provider.Sale, Amount: 12050, Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"})
		if err != nil {
			return fmt.Errorf("start-session %s: %w", order, err)
		}
		return nil
	})
}

// session is the session of an order.
func (r *rig) session(order string) (*provider.Session, error) {
	return r.store.Order(context.Background(), r.merch.ID, order)
}

// drain runs pass on replicas goroutines until done reports n items, and
// returns how long that took; a pass that does nothing while work remains
// waits a little, as the jobs' ticker would.
func drain(b *testing.B, n, replicas int, within time.Duration, pass func() (int, error)) time.Duration {
	b.Helper()
	var (
		done  atomic.Int64
		wg    sync.WaitGroup
		start = time.Now()
		stop  = start.Add(within)
		fails atomic.Int64
	)
	for range replicas {
		wg.Go(func() {
			for done.Load() < int64(n) && time.Now().Before(stop) {
				k, err := pass()
				if err != nil {
					fails.Add(1)
				}
				done.Add(int64(k))
				if k == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if got := done.Load(); got < int64(n) {
		b.Fatalf("%d of %d items done within %s", got, n, within)
	}
	if f := fails.Load(); f > 0 {
		b.Logf("%d passes reported an error", f)
	}
	return took
}
