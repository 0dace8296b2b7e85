package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/akinon-gateway/gateway/idempotency"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

const (
	benchUser     = "bench-user"
	benchPassword = "bench-password-0123456789"
	adminUser     = "ops"
	adminPassword = "bench-ops-password"
)

// The rows of the table, in the order. A gateway row's Floor is
// the floor with as many round trips to Redis.
var (
	floorNew    = scenario{Name: "floor, new guid", RoundTrips: "2"}
	floorReplay = scenario{Name: "floor, replay", RoundTrips: "1"}
	floorBank   = scenario{Name: "floor, new guid + bank", RoundTrips: "4"}
	gwStart     = scenario{Name: "start-session, new guid", RoundTrips: "1 script", Floor: floorNew.Name}
	gwReplay    = scenario{Name: "replay of a start-session", RoundTrips: "1", Floor: floorReplay.Name}
	gwHistory   = scenario{Name: "history of one order", RoundTrips: "2", Floor: floorNew.Name}
	gwRefund    = scenario{Name: "refund 0.01, new guid", RoundTrips: "2 + 2 of its bank", Floor: floorBank.Name}
	// The cost of REDIS_MIN_REPLICAS=1 is measured against the same
	// master and replica with nothing waiting: the replica's own cost
	// (its master feeding it, on the same cores) is in both.
	gwRefundReplica = scenario{Name: "refund, a replica, REDIS_MIN_REPLICAS=0", RoundTrips: "2 + 2 of its bank", Floor: floorBank.Name}
	gwRefundWaited  = scenario{Name: "refund, a replica, REDIS_MIN_REPLICAS=1", RoundTrips: "2 + 2 of its bank, each of the 2 with WAIT",
		Floor: gwRefundReplica.Name}
)

// bench starts redis-server, the floor and the gateway, runs the rounds
// and writes the table.
func bench(ctx context.Context, s settings, w io.Writer) error {
	loadBefore := loadAverage()
	dir, err := os.MkdirTemp("", "benchload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r, err := startRig(ctx, dir)
	defer r.stop()
	if err != nil {
		return err
	}
	f, err := prepare(ctx, r, s)
	if err != nil {
		return err
	}
	jobs := r.jobs(s, f)
	fmt.Fprintf(w, "benchload: %d connections, %s per scenario after %s of warm-up, %d interleaved rounds; medians\n",
		s.Connections, s.Duration, s.Warmup, s.Rounds)
	samples, err := runRounds(ctx, s, jobs)
	if err != nil {
		return err
	}
	report(w, jobs, samples, loadBefore)
	return nil
}

// rig is the servers a bench loads, each a process of its own:
// redis-server, the floor and the gateway; and a second redis-server
// with a replica, which two more gateways share, one waiting for the
// replica (REDIS_MIN_REPLICAS=1) and one not.
type rig struct {
	redis, floor, gw    *proc
	primary, replica    *proc
	primaryAddr         string
	gwReplica, gwWaited *proc
}

// startRig builds the gateway and starts the servers; stop the rig even
// when it fails, to stop those that did start.
func startRig(ctx context.Context, dir string) (*rig, error) {
	r := &rig{}
	gwBin := filepath.Join(dir, "gateway")
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	if out, err := exec.CommandContext(ctx, goCmd, "build", "-o", gwBin, "./cmd/gateway").CombinedOutput(); err != nil {
		return r, fmt.Errorf("go build ./cmd/gateway (run from the repository's root): %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	var redisAddr string
	if r.redis, redisAddr, err = startRedis(ctx, dir, "redis", ""); err != nil {
		return r, err
	}
	if r.floor, err = startFloor(ctx, dir, self, "redis://"+redisAddr); err != nil {
		return r, err
	}
	if r.gw, err = startGatewayProc(ctx, dir, "gateway", gwBin, "redis://"+redisAddr); err != nil {
		return r, err
	}
	if r.primary, r.primaryAddr, err = startRedis(ctx, dir, "redis-primary", ""); err != nil {
		return r, err
	}
	if r.replica, _, err = startRedis(ctx, dir, "redis-replica", r.primaryAddr); err != nil {
		return r, err
	}
	if r.gwReplica, err = startGatewayProc(ctx, dir, "gateway-replica", gwBin, "redis://"+r.primaryAddr); err != nil {
		return r, err
	}
	r.gwWaited, err = startGatewayProc(ctx, dir, "gateway-waited", gwBin, "redis://"+r.primaryAddr,
		"REDIS_MIN_REPLICAS=1", "REDIS_REPLICA_TIMEOUT=1s")
	return r, err
}

func (r *rig) stop() {
	for _, p := range []*proc{r.gwWaited, r.gwReplica, r.gw, r.floor, r.replica, r.primary, r.redis} {
		p.stop()
	}
}

// fixtures are what the gateway scenarios need: one order per connection
// and round to refund (refunds of one order queue behind each other, and
// each round starts from orders as short as the first's), one whose
// history is read, and a start-session to replay.
type fixtures struct {
	refundOrders []string
	// The replica rows' orders: the first half for the gateway that does
	// not wait, the second for the one that does.
	replicaOrders []string
	historyOrder  string
	replayBody    []byte
}

// refundOrder is the order connection w refunds in round.
func (f fixtures) refundOrder(s settings, round, w int) string {
	return f.refundOrders[round*s.Connections+w]
}

// prepare makes the fixtures and checks that each scenario measures what
// it names.
func prepare(ctx context.Context, r *rig, s settings) (fixtures, error) {
	n := s.Connections * s.Rounds
	// The setup shares one small pool and closes it before the load: its
	// idle connections would count against the gateway's MAX_CONNS_PER_IP.
	setup := newClient(8)
	defer setup.CloseIdleConnections()
	orders, err := purchasedOrders(ctx, setup, r.gw.base, n+1)
	if err != nil {
		return fixtures{}, err
	}
	f := fixtures{refundOrders: orders[:n], historyOrder: orders[n], replayBody: startSessionBody("replay-1", "o-replay", 120.5)}
	if f.replicaOrders, err = purchasedOrders(ctx, setup, r.gwReplica.base, 2*n); err != nil {
		return f, fmt.Errorf("the replica rows' orders: %w", err)
	}
	// The waiting gateway must refund, and wait for its replica to do so.
	waits := func() int64 { return commandCalls(ctx, r.primaryAddr, "wait") }
	before := waits()
	if out, err := call(ctx, setup, r.gwWaited.base+"/refund", refundBody("r-check", f.replicaOrders[n])); err != nil || !strings.Contains(string(out), `"status":"RESOLVED"`) {
		return f, fmt.Errorf("a refund of 0.01 with REDIS_MIN_REPLICAS=1 before the load: %s %v", out, err)
	}
	if after := waits(); after <= before {
		return f, fmt.Errorf("a refund with REDIS_MIN_REPLICAS=1 sent no WAIT to its master (%d calls before, %d after)", before, after)
	}
	for _, p := range []string{r.gw.base + "/start-session", r.floor.base + "/floor"} {
		if status, err := post(ctx, setup, p, benchUser, benchPassword, f.replayBody); err != nil || status != http.StatusOK {
			return f, fmt.Errorf("the start-session to replay on %s: %s", p, describe(status, err))
		}
	}
	// The refund scenario must measure refunds that move money.
	if out, err := call(ctx, setup, r.gw.base+"/refund", refundBody("r-check", f.refundOrder(s, 0, 0))); err != nil || !strings.Contains(string(out), `"status":"RESOLVED"`) {
		return f, fmt.Errorf("a refund of 0.01 before the load: %s %v", out, err)
	}
	// The replay scenario must measure replays: the gateway says so.
	if ok, err := replayed(ctx, setup, r.gw.base+"/start-session", f.replayBody); err != nil || !ok {
		return f, fmt.Errorf("the gateway did not answer the start-session to replay as a replay (%s: true): %v", idempotency.HeaderReplayed, err)
	}
	return f, nil
}

// job is one row of the table: the server and path it loads, and the
// bodies it sends in a round.
type job struct {
	sc    scenario
	p     *proc
	path  string
	body  func(round int) request
	redis []*proc // the redis-servers it uses, whose CPU counts with the server's
}

// jobs are the rows of the table, in its order.
func (r *rig) jobs(s settings, f fixtures) []job {
	unique := func(prefix string, round, w, i int) string { return fmt.Sprintf("%s-%d-%d-%d", prefix, round, w, i) }
	newSession := func(prefix string) func(int) request {
		return func(round int) request {
			return func(w, i int) []byte { g := unique(prefix, round, w, i); return startSessionBody(g, g, 120.5) }
		}
	}
	refundsOf := func(prefix string, orders []string) func(int) request {
		return func(round int) request {
			return func(w, i int) []byte { return refundBody(unique(prefix, round, w, i), orders[round*s.Connections+w]) }
		}
	}
	refunds := func(prefix string) func(int) request { return refundsOf(prefix, f.refundOrders) }
	n := s.Connections * s.Rounds
	replay := func(int) request { return func(int, int) []byte { return f.replayBody } }
	one, pair := []*proc{r.redis}, []*proc{r.primary, r.replica}
	return []job{
		{floorNew, r.floor, "/floor", newSession("fs"), one},
		{floorReplay, r.floor, "/floor", replay, one},
		{floorBank, r.floor, "/floor4", refunds("fr"), one},
		{gwStart, r.gw, "/start-session", newSession("s"), one},
		{gwReplay, r.gw, "/start-session", replay, one},
		{gwHistory, r.gw, "/history", func(round int) request {
			return func(w, i int) []byte { return historyBody(unique("h", round, w, i), f.historyOrder) }
		}, one},
		{gwRefund, r.gw, "/refund", refunds("r"), one},
		{gwRefundReplica, r.gwReplica, "/refund", refundsOf("rr", f.replicaOrders[:n]), pair},
		{gwRefundWaited, r.gwWaited, "/refund", refundsOf("rw", f.replicaOrders[n:]), pair},
	}
}

// runRounds measures every job once a round, interleaved, and returns
// each scenario's samples by name.
func runRounds(ctx context.Context, s settings, jobs []job) (map[string][]sample, error) {
	samples := map[string][]sample{}
	client := newClient(s.Connections)
	for round := range s.Rounds {
		for _, j := range jobs {
			var profiled <-chan error
			if s.Profile != "" && round == 0 && j.p.adminBase != "" {
				profiled = profileWindow(ctx, j.p, s, filepath.Join(s.Profile, slug(j.sc.Name)+".pprof"))
			}
			sm, res := measure(ctx, client, j, s, round)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if profiled != nil {
				if err := <-profiled; err != nil {
					return nil, fmt.Errorf("BENCH_PROFILE: %s: %w", j.sc.Name, err)
				}
			}
			line := fmt.Sprintf("round %d  %-28s %8.0f req/s  p99 %6.1f ms  errors %d", round+1, j.sc.Name, sm.Rate, ms(sm.P99), sm.Errors)
			if res.FirstError != "" {
				line += " (first: " + res.FirstError + ")"
			}
			fmt.Fprintln(os.Stderr, line)
			samples[j.sc.Name] = append(samples[j.sc.Name], sm)
		}
	}
	return samples, nil
}

// report writes the table of medians, a warning for each row that
// counted failures, and the machine it ran on.
func report(w io.Writer, jobs []job, samples map[string][]sample, loadBefore string) {
	var rows []row
	for _, j := range jobs {
		rows = append(rows, summarise(j.sc, samples[j.sc.Name]))
	}
	fmt.Fprintln(w)
	writeTable(w, rows)
	for _, r := range rows {
		if r.Errors > 0 {
			fmt.Fprintf(w, "\nWARNING: %d requests of %q failed (see the rounds above): its figures measure failures too\n", r.Errors, r.Name)
		}
	}
	fmt.Fprintf(w, "\nmachine: %s, %d CPUs (nproc), %s; load average before the run: %s\n",
		cpuModel(), runtime.NumCPU(), runtime.Version(), loadBefore)
}

// measure loads one server for one window while sampling its RSS, and
// counts its allocations from its metrics, and the CPU of it, its
// redis-servers and the load generator, before and after.
func measure(ctx context.Context, c *http.Client, j job, s settings, round int) (sample, result) {
	p := j.p
	meter := cpuMeter{server: p.cmd.Process.Pid}
	for _, r := range j.redis {
		meter.redis = append(meter.redis, r.cmd.Process.Pid)
	}
	var (
		peak int64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, rss(p.cmd.Process.Pid))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	before, okBefore := mallocs(p.metricsURL)
	cpuBefore := meter.read()
	res := load(ctx, c, p.base+j.path, benchUser, benchPassword, s.Connections, s.Warmup, s.Duration, j.body(round))
	cpuAfter := meter.read()
	after, okAfter := mallocs(p.metricsURL)
	close(done)
	wg.Wait()
	sm := sample{Rate: res.rate(), P50: percentile(res.Latencies, 50), P99: percentile(res.Latencies, 99),
		Errors: res.Errors, RSS: peak, AllocsMissing: !okBefore || !okAfter}
	// The counters also cover the warm-up before the window: divide by
	// every request the server answered between the two reads.
	total := res.Requests + res.WarmupRequests
	if total > 0 {
		sm.AllocsPerReq = (after - before) / float64(total)
	}
	var ok bool
	sm.CPUServer, sm.CPURedis, sm.CPULoad, ok = perRequest(cpuBefore, cpuAfter, total)
	sm.CPUMissing = !ok
	return sm, res
}

func startFloor(ctx context.Context, dir, self, redisURL string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	maddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := start(dir, "floor", self, []string{"floor", addr, maddr, redisURL, benchUser, benchPassword}, nil)
	if err != nil {
		return nil, err
	}
	p.base, p.metricsURL = "http://"+addr, "http://"+maddr+"/metrics"
	return p, waitServing(ctx, p, "/metrics")
}

// startGatewayProc runs the gateway as production runs it (DEV_MODE off,
// logs at info, throttles on) except for the sandbox bank, which outside
// DEV_MODE must be asked for, and the card throttles, off so that the
// setup can pay for an order per connection from one address.
func startGatewayProc(ctx context.Context, dir, name, bin, redisURL string, extra ...string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := []string{
		"ADDR=" + addr, "PUBLIC_URL=http://" + addr, "DEV_MODE=0",
		"GATEWAY_USERNAME=" + benchUser, "GATEWAY_PASSWORD=" + benchPassword,
		"HASH_KEY=bench-hash-key-0123456789abcdef0123456789",
		"REDIS_URL=" + redisURL, "PROCESSOR=" + sandbox.Name, "ALLOW_SANDBOX=1",
		"ADMIN_ADDR=" + admin, "ADMIN_USERNAME=" + adminUser, "ADMIN_PASSWORD=" + adminPassword,
		"THROTTLE_CARD_IP=0", "THROTTLE_CARD_MERCHANT=0", "THROTTLE_CARD_BIN=0",
	}
	p, err := start(dir, name, bin, nil, append(env, extra...))
	if err != nil {
		return nil, err
	}
	p.base, p.metricsURL, p.adminBase = "http://"+addr, "http://"+admin+"/metrics", "http://"+admin
	if err := waitServing(ctx, p, "/healthz"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, name+".log"))
		return p, fmt.Errorf("%w; its log:\n%s", err, log)
	}
	return p, nil
}

func startSessionBody(guid, order string, amount float64) []byte {
	return mustJSON(map[string]any{
		"version": "1.0", "guid": guid, "orderId": order, "orderAmount": amount, "locale": "en",
		"returnUrl": "https://shop.example/return", "type": "SALE", "currency": "TRY",
		"customer": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
	})
}

func refundBody(guid, order string) []byte {
	return mustJSON(map[string]any{"version": "1.0", "guid": guid, "orderId": order, "amount": 0.01, "currency": "TRY"})
}

func historyBody(guid, order string) []byte {
	return mustJSON(map[string]any{"version": "1.0", "guid": guid, "orderId": order})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// purchasedOrders makes n paid and purchased orders, large enough for
// every refund of 0.01 the bench makes: start-session, the shopper's card
// on the hosted page, purchase.
func purchasedOrders(ctx context.Context, c *http.Client, base string, n int) ([]string, error) {
	orders := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range orders {
		orders[i] = fmt.Sprintf("o-bench-%d", i)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = purchase(ctx, c, base, orders[i])
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return orders, nil
}

func purchase(ctx context.Context, c *http.Client, base, order string) error {
	body, err := call(ctx, c, base+"/start-session", startSessionBody("start-"+order, order, 999999999.99))
	if err != nil {
		return err
	}
	var started struct{ RedirectURL string }
	if err := json.Unmarshal(body, &started); err != nil || started.RedirectURL == "" {
		return fmt.Errorf("start-session of %s: no redirectUrl in %s", order, body)
	}
	jar, _ := cookiejar.New(nil)
	shopper := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: c.Transport, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), base) {
			return http.ErrUseLastResponse // the shop's return address is not served here
		}
		return nil
	}}
	page, err := shopper.Get(started.RedirectURL)
	if err != nil {
		return err
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := csrfRE.FindSubmatch(html)
	if m == nil {
		return fmt.Errorf("no card form on the hosted page of %s (%d)", order, page.StatusCode)
	}
	form := url.Values{"_csrf": {string(m[1])}, "cardHolder": {"Ada Lovelace"}, "cardNumber": {sandbox.CardApproved},
		"expiry": {"12/39"}, "cvc": {"123"}, "installment": {"1"}}
	paid, err := shopper.PostForm(started.RedirectURL, form)
	if err != nil {
		return err
	}
	paid.Body.Close()
	out, err := call(ctx, c, base+"/purchase", mustJSON(map[string]any{"version": "1.0", "guid": "p-" + order, "orderId": order}))
	if err != nil {
		return err
	}
	if !strings.Contains(string(out), `"status":"RESOLVED"`) {
		return fmt.Errorf("purchase of %s: %s", order, out)
	}
	return nil
}

// call posts an Akinon call and returns the body of its 200 answer.
func call(ctx context.Context, c *http.Client, u string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(benchUser, benchPassword)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: HTTP %d %s", u, resp.StatusCode, out)
	}
	return out, err
}

// replayed posts an Akinon call and says whether the gateway answered it
// from its idempotency store.
func replayed(ctx context.Context, c *http.Client, u string, body []byte) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(benchUser, benchPassword)
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK && resp.Header.Get(idempotency.HeaderReplayed) == "true", nil
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
