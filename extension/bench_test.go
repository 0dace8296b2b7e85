package extension_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// The benchmarks measure what a call costs against two baselines taken
// in the same run: the gateway's handler answering /healthz, which
// touches nothing (BenchmarkBaseline), and one Redis round trip
// (BenchmarkRedisRoundTrip). `make bench` prints every result as a ratio of both, so a regression shows as a ratio that
// moved, whatever the machine's speed.

type benchGateway struct {
	h     http.Handler // the gateway's handler, called without a network
	merch *provider.Merchant
	svc   *provider.Service
}

// benchStore says how the benchmark's store is laid out: hash-tag shards
// (more than one uses the guid registry, as on a Cluster), replicas
// started beside the master, and how many must acknowledge each answer
// (REDIS_MIN_REPLICAS).
type benchStore struct {
	shards, replicas, wait int
}

// mustBenchGateway starts the gateway (gatewaytest.Start) on a
// redis-server of its own laid out as asked, with no background work
// running beside the calls measured.
func mustBenchGateway(b *testing.B, layouts ...benchStore) (*benchGateway, *redistest.Server) {
	b.Helper()
	layout := benchStore{shards: 1}
	if len(layouts) > 0 {
		layout = layouts[0]
	}
	rs := redistest.Start(b)
	env := gatewaytest.Env(gatewaytest.FreeAddr(b), rs.URL(), "", map[string]string{
		"REDIS_SHARDS": strconv.Itoa(layout.shards), "LOG_LEVEL": "error",
		"JOBS_INTERVAL": "1000h", "RECONCILE_INTERVAL": "1000h", "WEBHOOK_POLL": "1000h",
	})
	if layout.replicas > 0 {
		for range layout.replicas {
			redistest.Start(b, redistest.ReplicaOf(rs))
		}
		env["REDIS_MIN_REPLICAS"], env["REDIS_REPLICA_TIMEOUT"] = strconv.Itoa(layout.wait), "1s"
		c := rs.Client(b)
		for c.Do(context.Background(), "WAIT", layout.replicas, 100).Val() != int64(layout.replicas) {
			c.Set(context.Background(), "sync-probe", 1, 0) // until the replica is in sync
		}
	}
	gw := gatewaytest.Start(b, env)
	m := gw.Merchants.All()[0]
	return &benchGateway{h: gw.Handler, merch: &m.Merchant, svc: gw.Service}, rs
}

// cpuClock is the process's CPU time (all threads: handlers, go-redis,
// the collector) when a benchmark's loop began. Its per-call figure is
// steadier than ns/op, which also holds Redis's share and its round trip.
type cpuClock time.Duration

func startCPU() cpuClock { return cpuClock(processCPU()) }

// report adds cpu-ns/op to the benchmark's line.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-time.Duration(c))/float64(b.N), "cpu-ns/op")
}

// scriptClock is the time the benchmark's redis-server had spent running
// scripts (INFO commandstats: EVALSHA and EVAL, each with the commands its
// script calls) when a loop began.
type scriptClock struct {
	rs    *redistest.Server
	start float64
}

func startScripts(b *testing.B, rs *redistest.Server) scriptClock {
	b.Helper()
	return scriptClock{rs: rs, start: scriptTime(b, rs)}
}

// report adds script-us/op to the benchmark's line: what the store's
// scripts cost Redis per call, its network apart.
func (c scriptClock) report(b *testing.B) {
	b.Helper()
	b.ReportMetric((scriptTime(b, c.rs)-c.start)/float64(b.N), "script-us/op")
}

func scriptTime(b *testing.B, rs *redistest.Server) float64 {
	b.Helper()
	info := rs.Client(b).InfoMap(context.Background(), "commandstats")
	if err := info.Err(); err != nil {
		b.Fatal(err)
	}
	return usec(info.Item("Commandstats", "cmdstat_evalsha")) + usec(info.Item("Commandstats", "cmdstat_eval"))
}

// usec reads the usec of one command's commandstats line
// ("calls=3,usec=300,usec_per_call=100.00,…"); 0 for none.
func usec(stats string) float64 {
	for field := range strings.SplitSeq(stats, ",") {
		if v, ok := strings.CutPrefix(field, "usec="); ok {
			us, _ := strconv.ParseFloat(v, 64)
			return us
		}
	}
	return 0
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (g *benchGateway) post(b *testing.B, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(gatewaytest.User, gatewaytest.Password)
	rec := httptest.NewRecorder()
	g.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	return rec
}

// mustPurchased makes a purchased order large enough for many refunds.
func (g *benchGateway) mustPurchased(b *testing.B, order string) {
	b.Helper()
	ctx := context.Background()
	var sid string
	rec := g.post(b, "/start-session", `{"guid":"s-`+order+`","orderId":"`+order+`","orderAmount":999999999.99,"locale":"en",
		"returnUrl":"https://shop.example/r","type":"SALE","currency":"TRY","customer":{"firstName":"A","lastName":"B","email":"a@example.com"}}`)
	var out struct{ SessionID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	sid = out.SessionID
	sess, err := g.svc.Session(ctx, sid)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := g.svc.Pay(ctx, g.merch, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"}); err != nil {
		b.Fatal(err)
	}
	g.post(b, "/purchase", `{"guid":"p-`+order+`","orderId":"`+order+`"}`)
}

func BenchmarkBaseline(b *testing.B) {
	g, _ := mustBenchGateway(b)
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		g.h.ServeHTTP(rec, req)
	}
}

func BenchmarkRedisRoundTrip(b *testing.B) {
	_, rs := mustBenchGateway(b)
	c := rs.Client(b)
	ctx := context.Background()
	for b.Loop() {
		if err := c.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefundReplayed(b *testing.B) {
	g, _ := mustBenchGateway(b)
	g.mustPurchased(b, "o-replay")
	body := `{"guid":"r-1","orderId":"o-replay","amount":0.01,"currency":"TRY"}`
	g.post(b, "/refund", body)
	cpu := startCPU()
	for b.Loop() {
		g.post(b, "/refund", body)
	}
	cpu.report(b)
}

func BenchmarkRefundNew(b *testing.B) { benchRefunds(b, benchStore{shards: 1}) }

// BenchmarkRefundNewSharded is a new refund on a store of 16 hash-tag
// shards: the guid registry's round trip more, as on a Cluster.
func BenchmarkRefundNewSharded(b *testing.B) { benchRefunds(b, benchStore{shards: 16}) }

// BenchmarkRefundNewReplicated waits for a replica's acknowledgement of
// each answer (REDIS_MIN_REPLICAS=1).
func BenchmarkRefundNewReplicated(b *testing.B) {
	benchRefunds(b, benchStore{shards: 1, replicas: 1, wait: 1})
}

func benchRefunds(b *testing.B, layout benchStore) {
	g, rs := mustBenchGateway(b, layout)
	g.mustPurchased(b, "o-new")
	i := 0
	scripts := startScripts(b, rs)
	for b.Loop() {
		i++
		g.post(b, "/refund", `{"guid":"r-`+strconv.Itoa(i)+`","orderId":"o-new","amount":0.01,"currency":"TRY"}`)
	}
	scripts.report(b)
}

// The parallel benchmarks are throughput: 16 clients refunding on 16
// orders at once, without and with a replica's acknowledgement.
func BenchmarkRefundsParallel(b *testing.B) { benchRefundsParallel(b, benchStore{shards: 1}) }

// BenchmarkRefundsParallelReplicaUnwaited has a replica that waits for
// nothing (REDIS_MIN_REPLICAS=0): against BenchmarkRefundsParallel, the
// cost of the replica itself (Redis feeding it, on the same cores);
// against BenchmarkRefundsParallelReplicated, the cost of the setting.
func BenchmarkRefundsParallelReplicaUnwaited(b *testing.B) {
	benchRefundsParallel(b, benchStore{shards: 1, replicas: 1})
}

func BenchmarkRefundsParallelReplicated(b *testing.B) {
	benchRefundsParallel(b, benchStore{shards: 1, replicas: 1, wait: 1})
}

func benchRefundsParallel(b *testing.B, layout benchStore) {
	g, _ := mustBenchGateway(b, layout)
	const clients = 16
	for o := range clients {
		g.mustPurchased(b, "o-par-"+strconv.Itoa(o))
	}
	var next atomic.Int64
	b.SetParallelism(clients / max(runtime.GOMAXPROCS(0), 1))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		order := "o-par-" + strconv.Itoa(int(next.Add(1)-1)%clients)
		for pb.Next() {
			n := next.Add(1)
			g.post(b, "/refund", `{"guid":"rp-`+strconv.FormatInt(n, 10)+`","orderId":"`+order+`","amount":0.01,"currency":"TRY"}`)
		}
	})
}

func BenchmarkHistoryNew(b *testing.B) {
	g, rs := mustBenchGateway(b)
	g.mustPurchased(b, "o-hist")
	i := 0
	scripts := startScripts(b, rs)
	for b.Loop() {
		i++
		g.post(b, "/history", `{"guid":"h-`+strconv.Itoa(i)+`","orderId":"o-hist"}`)
	}
	scripts.report(b)
}

// startSessionBody is a start-session for order with guid.
func startSessionBody(guid, order string) string {
	return `{"guid":"` + guid + `","orderId":"` + order + `","orderAmount":10.00,"locale":"en",
		"returnUrl":"https://shop.example/r","type":"SALE","currency":"TRY","customer":{"firstName":"A","lastName":"B","email":"a@example.com"}}`
}

func BenchmarkStartSessionNew(b *testing.B) {
	g, rs := mustBenchGateway(b)
	i := 0
	cpu, scripts := startCPU(), startScripts(b, rs)
	for b.Loop() {
		i++
		n := strconv.Itoa(i)
		g.post(b, "/start-session", startSessionBody("s-"+n, "o-"+n))
	}
	cpu.report(b)
	scripts.report(b)
}

// BenchmarkStartSessionReplayed is QA's replay of a start-session.
func BenchmarkStartSessionReplayed(b *testing.B) {
	g, _ := mustBenchGateway(b)
	body := startSessionBody("s-replay", "o-replay")
	first := g.post(b, "/start-session", body).Body.String()
	cpu := startCPU()
	for b.Loop() {
		if got := g.post(b, "/start-session", body).Body.String(); got != first {
			b.Fatalf("replay answered %s, first %s", got, first)
		}
	}
	cpu.report(b)
}

func TestUsec(t *testing.T) {
	for stats, want := range map[string]float64{
		"calls=3,usec=300,usec_per_call=100.00,rejected_calls=0,failed_calls=0\r": 300,
		"": 0, // a command that never ran has no line
	} {
		if got := usec(stats); got != want {
			t.Errorf("usec(%q) = %v, want %v (not usec_per_call)", stats, got, want)
		}
	}
}
