package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/audit"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// topology is a Redis the gateway runs on that can fail over.
type topology interface {
	URL() string
}

type haSetup struct {
	name     string // the topology, as the matrix's table names it
	replicas int    // per master
	shards   int
	start    func(t *testing.T) topology
}

// haFault is one failover: do returns when a replica became master, and
// which orders' shards it concerned (their hash tags).
type haFault struct {
	name string
	// forGood: the master is never restarted; with one replica the
	// promoted master has none left and refuses writes.
	forGood bool
	do      func(t *testing.T, topo topology) (promoted time.Time, moved func(tag string) bool)
}

// haRow is one line of the matrix's table.
type haRow struct {
	topology, failover, setting          string
	answered, lost, doubled, differences int
	refused                              int // differences left in doubt on a shard that refuses writes
	gap, toFirst200                      time.Duration
	never                                bool // no 200 on the shard after the promotion
}

var (
	haRowsMu sync.Mutex
	haRows   []haRow
)

// haSettings are the gateway's settings in every case; haSetting is
// what the table says of them and of Redis's.
var (
	haSettings = map[string]string{"REDIS_MIN_REPLICAS": "1", "REDIS_REPLICA_TIMEOUT": "500ms"}
	haSetting  string
)

// TestFailover runs the gateway (REDIS_MIN_REPLICAS=1) on Sentinel
// groups and Clusters with one and with two replicas per master while
// concurrent checkouts run and a probe sends a new start-session every
// 20 ms, and fails the store over: planned, by SIGKILLing the master and
// restarting it at once, and by SIGKILLing it for good. Every answer is
// recorded. After each: every stored answer (200, 404, 422) replays byte
// for byte (0 lost), no order was charged twice (0 doubled), the ledger
// audit finds 0 differences, every payment's webhook arrived (duplicates
// counted), and the longest gap between 200s and the time from the
// promotion to the first 200 on the failed-over shard are measured. The
// table of every case is printed at the end.
//
// The Redis topologies take a while to start; the test runs with
// GATEWAY_HA=1 (make test-ha).
func TestFailover(t *testing.T) {
	if os.Getenv("GATEWAY_HA") == "" {
		t.Skip("set GATEWAY_HA=1 (make test-ha) to start Sentinel and Cluster topologies")
	}
	sentinelFaults := []haFault{
		{"planned", false, func(t *testing.T, topo topology) (time.Time, func(string) bool) {
			return topo.(*redistest.Sentinel).Failover(t), everyTag
		}},
		{"killed, restarted", false, func(t *testing.T, topo topology) (time.Time, func(string) bool) {
			return topo.(*redistest.Sentinel).KillMaster(t), everyTag
		}},
		{"killed for good", true, func(t *testing.T, topo topology) (time.Time, func(string) bool) {
			return topo.(*redistest.Sentinel).KillMasterForGood(t), everyTag
		}},
	}
	clusterFault := func(fail func(c *redistest.Cluster, tb testing.TB, m *redistest.Server) time.Time) func(t *testing.T, topo topology) (time.Time, func(string) bool) {
		return func(t *testing.T, topo topology) (time.Time, func(string) bool) {
			c := topo.(*redistest.Cluster)
			m := c.Masters()[0]
			slots := c.Slots(t, m)
			return fail(c, t, m), func(tag string) bool { return slots[c.KeySlot(t, tag)] }
		}
	}
	clusterFaults := []haFault{
		{"planned", false, clusterFault((*redistest.Cluster).Failover)},
		{"killed, restarted", false, clusterFault((*redistest.Cluster).KillMaster)},
		{"killed for good", true, clusterFault((*redistest.Cluster).KillMasterForGood)},
	}
	// docs/failover.md's recommended repl-diskless-sync-delay is 0;
	// GATEWAY_HA_SYNC_DELAY=5 measures Redis's default.
	delay, err := strconv.Atoi(cmp.Or(os.Getenv("GATEWAY_HA_SYNC_DELAY"), "0"))
	if err != nil {
		t.Fatalf("GATEWAY_HA_SYNC_DELAY: %v", err)
	}
	haSetting = fmt.Sprintf("REDIS_MIN_REPLICAS=1, repl-diskless-sync-delay %d", delay)
	redisOpts := []redistest.Option{redistest.Safe(), redistest.SyncDelay(delay)}
	// The other settings docs/failover.md weighs, each measured by setting
	// it: GATEWAY_HA_DOWN_AFTER (ms), GATEWAY_HA_PARALLEL_SYNCS and
	// GATEWAY_HA_MIN_REPLICAS_TO_WRITE.
	for _, knob := range []struct {
		env, name string
		set       func(int)
	}{
		{"GATEWAY_HA_DOWN_AFTER", "down-after-milliseconds", func(v int) { redistest.SentinelDownAfter = v }},
		{"GATEWAY_HA_PARALLEL_SYNCS", "parallel-syncs", func(v int) { redistest.SentinelParallelSyncs = v }},
		{"GATEWAY_HA_MIN_REPLICAS_TO_WRITE", "min-replicas-to-write", func(v int) {
			redisOpts = append(redisOpts, redistest.Args("--min-replicas-to-write", strconv.Itoa(v)))
		}},
	} {
		raw := os.Getenv(knob.env)
		if raw == "" {
			continue
		}
		v, err := strconv.Atoi(raw)
		if err != nil {
			t.Fatalf("%s: %v", knob.env, err)
		}
		knob.set(v)
		haSetting += fmt.Sprintf(", %s %d", knob.name, v)
	}
	t.Cleanup(func() {
		redistest.SentinelDownAfter, redistest.SentinelParallelSyncs = redistest.DefaultSentinelDownAfter, 1
	})
	setups := []haSetup{
		{"sentinel, 1 replica", 1, 1, func(t *testing.T) topology { return redistest.StartSentinelReplicas(t, 1, redisOpts...) }},
		{"sentinel, 2 replicas", 2, 1, func(t *testing.T) topology { return redistest.StartSentinelReplicas(t, 2, redisOpts...) }},
		{"cluster, 1 replica", 1, 16, func(t *testing.T) topology { return redistest.StartClusterReplicas(t, 1, redisOpts...) }},
		{"cluster, 2 replicas", 2, 16, func(t *testing.T) topology { return redistest.StartClusterReplicas(t, 2, redisOpts...) }},
	}
	t.Cleanup(printHARows(t))
	for _, setup := range setups {
		faults := sentinelFaults
		if setup.shards > 1 {
			faults = clusterFaults
		}
		t.Run(setup.name, func(t *testing.T) {
			topo := setup.start(t)
			bankSrv := redistest.Start(t, redistest.Durable()) // the bank's books do not fail over with us
			h := mustHook(t, true)
			env := map[string]string{"REDIS_SHARDS": strconv.Itoa(setup.shards)}
			for k, v := range haSettings {
				env[k] = v
			}
			gw := gatewaytest.StartProcess(t, faultEnv(t, topo.URL(), bankSrv.URL(), h.URL, env))
			for i, fault := range faults {
				t.Run(fault.name, func(t *testing.T) {
					runFailover(t, gw, topo, setup, bankSrv.URL(), h, fault, fmt.Sprintf("%d-%d-%d", setup.shards, setup.replicas, i))
				})
			}
		})
	}
}

func everyTag(string) bool { return true }

// printHARows logs the matrix's table, one row per case run.
func printHARows(t *testing.T) func() {
	return func() {
		haRowsMu.Lock()
		defer haRowsMu.Unlock()
		var b strings.Builder
		b.WriteString("\n| topology | failover | setting | answered | lost | doubled | audit differences | longest gap | promotion to first 200 |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range haRows {
			first := r.toFirst200.Round(10 * time.Millisecond).String()
			if r.never {
				first = "none (shard refuses writes)"
			}
			diffs := strconv.Itoa(r.differences)
			if r.refused > 0 {
				diffs += fmt.Sprintf(" (+%d in doubt on the refusing shard)", r.refused)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d | %s | %s | %s |\n", r.topology, r.failover, r.setting,
				r.answered, r.lost, r.doubled, diffs, r.gap.Round(10*time.Millisecond), first)
		}
		t.Log(b.String())
	}
}

// probe is one start-session the probe sent.
type probe struct {
	at, done time.Time
	tag      string
	ans      gatewaytest.Answer
}

func runFailover(t *testing.T, gw *gatewaytest.Process, topo topology, setup haSetup, booksURL string, h *hook, fault haFault, run string) {
	shards := setup.shards
	st := storeAt(t, topo.URL(), shards)
	log := &flowLog{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Int64
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				flow(gw.Base, log, int(seq.Add(1)), run)
			}
		})
	}
	var probesMu sync.Mutex
	var probes []probe
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			order := fmt.Sprintf("probe-%s-%d", run, n)
			at := time.Now()
			a := log.call(gw.Base, "/start-session", startBody("probe-"+order, order))
			probesMu.Lock()
			probes = append(probes, probe{at, time.Now(), st.Tag("default", order), a})
			probesMu.Unlock()
		}
	})

	time.Sleep(time.Second)
	if g, ok := topo.(*redistest.Sentinel); ok {
		events := g.Watch(t)
		defer func() { t.Logf("what the sentinels announced:\n%s", strings.Join(events(), "\n")) }()
	}
	began := time.Now()
	promoted, moved := fault.do(t, topo)
	t.Logf("%s took %s (a replica master after %s)", fault.name, time.Since(began).Round(time.Millisecond), promoted.Sub(began).Round(time.Millisecond))
	// With one replica and the master dead for good the promoted master
	// has no replica left: its shards may refuse writes, so what is in
	// doubt there stays in doubt.
	refusing := fault.forGood && setup.replicas == 1
	// The load runs on for 3 s and, where the shard can take writes, until
	// it answers a 200 again: sentinels that call the promoted master
	// down run a second failover (docs/failover.md), and the shard takes
	// writes when that one ends.
	time.Sleep(3 * time.Second)
	if !refusing {
		redistest.Within(30*time.Second, func() bool {
			probesMu.Lock()
			defer probesMu.Unlock()
			for _, p := range probes {
				if moved(p.tag) && p.at.After(promoted) && p.ans.Err == nil && p.ans.Status == http.StatusOK {
					return true
				}
			}
			return false
		})
	}
	close(stop)
	wg.Wait()
	ended := time.Now()

	// The outage: first to last probe that was not a 200; the longest gap
	// between 200s on the failed-over shards, and the first 200 there
	// after the promotion.
	var first, last time.Time
	lastOK, gap, first200 := probes[0].at, time.Duration(0), time.Time{}
	for _, p := range probes {
		ok := p.ans.Err == nil && p.ans.Status == http.StatusOK
		if !ok {
			if first.IsZero() {
				first = p.at
			}
			last = p.at
		}
		if !ok || !moved(p.tag) {
			continue
		}
		gap = max(gap, p.done.Sub(lastOK))
		lastOK = p.done
		if first200.IsZero() && p.at.After(promoted) {
			first200 = p.done
		}
	}
	gap = max(gap, ended.Sub(lastOK))
	slowest := time.Duration(0)
	for _, p := range probes {
		slowest = max(slowest, p.done.Sub(p.at))
	}
	outage := time.Duration(0)
	if !first.IsZero() {
		outage = last.Sub(first) + 20*time.Millisecond
	}
	onRefusing := func(merchant, order string) bool { return refusing && moved(st.Tag(merchant, order)) }

	ctx := context.Background()
	redistest.Eventually(t, settleWithin, "everything in doubt to be settled", func() bool {
		ds, err := st.Doubts(ctx)
		if err != nil {
			return false
		}
		for _, d := range ds {
			if !onRefusing(d.Merchant, d.OrderID) {
				return false
			}
		}
		return true
	})
	bank, _ := books(t, booksURL)
	rep, err := audit.Run(ctx, st, bank, time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var differences []audit.Difference
	refused := 0
	for _, d := range rep.Differences {
		if onRefusing(d.Merchant, d.OrderID) {
			refused++
			continue
		}
		differences = append(differences, d)
	}

	// 0 lost: every stored answer replays byte for byte.
	stored, lost, answered := 0, 0, 0
	for _, c := range log.calls {
		if c.ans.Err != nil || (c.ans.Status != http.StatusOK && c.ans.Status != http.StatusNotFound && c.ans.Status != http.StatusUnprocessableEntity) {
			continue
		}
		if c.ans.Status == http.StatusOK {
			answered++
		}
		stored++
		a := gatewaytest.AkinonAt(gw.Base).PostRaw(c.path, mustMarshal(t, c.body))
		if a.Status != c.ans.Status || !bytes.Equal(a.Body, c.ans.Body) || a.Header.Get("Idempotent-Replayed") != "true" {
			lost++
			if lost <= 5 {
				t.Errorf("%s %v answered %s before the failover, %s now", c.path, c.body["guid"], c.ans, a)
			}
		}
	}

	// 0 doubled: no order charged twice (two sessions holding money at
	// the bank), on top of the audit's reference-by-reference check.
	doubled, payments := 0, map[string]string{}
	if err := st.EachOrder(ctx, func(merchant, order string) error {
		steps, err := st.Steps(ctx, merchant, order)
		if err != nil {
			return err
		}
		held := 0
		for _, s := range steps {
			if s.Type != provider.ActionStart {
				continue
			}
			acct, err := bank.Account(ctx, provider.PaymentReference(s.SessionID))
			if err != nil {
				return err
			}
			if acct.State == "authorised" || acct.State == "voided" {
				held++
			}
		}
		if held > 1 {
			doubled++
		}
		sess, err := st.Order(ctx, merchant, order)
		if err != nil {
			return err
		}
		if onRefusing(merchant, order) {
			// Its outbox cannot record a delivery: the webhooks wait
			// for the shard to take writes again.
			return nil
		}
		switch sess.Phase {
		case provider.PhaseAuthorised, provider.PhasePurchased, provider.PhaseVoided:
			payments[sess.ID] = "RESOLVED"
		case provider.PhaseRejected:
			payments[sess.ID] = "REJECTED"
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	row := haRow{topology: setup.name, failover: fault.name, setting: haSetting,
		answered: answered, lost: lost, doubled: doubled, differences: len(differences), refused: refused,
		gap: gap, toFirst200: first200.Sub(promoted), never: first200.IsZero()}
	haRowsMu.Lock()
	haRows = append(haRows, row)
	haRowsMu.Unlock()

	// Every payment's webhook arrives; duplicates are allowed and counted.
	redistest.Eventually(t, 30*time.Second, "every payment's webhook", func() bool {
		got := h.statusBySession()
		for sid, status := range payments {
			if got[sid] != status {
				return false
			}
		}
		return true
	})
	dups := h.duplicates()

	codes := map[string]int{}
	for _, c := range log.calls {
		switch {
		case c.ans.Err != nil:
			codes["no gatewaytest.Answer"]++
		case c.ans.Status == http.StatusOK:
			codes["200"]++
		default:
			codes[strconv.Itoa(c.ans.Status)+" "+c.ans.Code()]++
		}
	}
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	summary := ""
	for _, k := range keys {
		summary += fmt.Sprintf(" %s:%d", k, codes[k])
	}
	toFirst := "none"
	if !first200.IsZero() {
		toFirst = fmt.Sprintf("%s (+%s since the fault)", first200.Sub(promoted).Round(time.Millisecond), first200.Sub(began).Round(time.Millisecond))
	}
	t.Logf("answers recorded %d (%s), stored and replayed %d, lost %d, doubled %d, audit differences %d (%d in doubt on a refusing shard) over %d orders, outage %s (%d probes), longest gap on the shard %s, promotion to first 200 %s, slowest start-session %s, duplicate webhooks %d of %d payments",
		len(log.calls), summary[1:], stored, lost, doubled, len(differences), refused, rep.Orders, outage.Round(time.Millisecond), len(probes),
		gap.Round(time.Millisecond), toFirst, slowest.Round(time.Millisecond), dups, len(payments))
	if len(differences) > 0 {
		t.Errorf("the ledger audit found %d differences:\n%v", len(differences), differences)
	}
	if lost > 0 || doubled > 0 {
		t.Fatalf("lost %d, doubled %d", lost, doubled)
	}
	// A start-session's budget: the replica census (1 s), following a
	// master that is gone (redisstore.FollowMaster) and one last attempt
	// (a dial of 2 s or a read of REDIS_REPLICA_TIMEOUT + 1 s).
	if budget := time.Second + redisstore.FollowMaster + 3*time.Second; slowest > budget {
		t.Errorf("a start-session took %s, over its budget of %s", slowest.Round(time.Millisecond), budget)
	}
	if first200.IsZero() && !refusing {
		t.Errorf("no 200 on the failed-over shard in the %s after the promotion", ended.Sub(promoted).Round(time.Millisecond))
	}
	// A failover is an outage, not a fault of the gateway's: 503s say
	// what happened (store_unavailable, outcome_unknown); a 500 says the
	// gateway did not understand it.
	for k, n := range codes {
		if strings.HasPrefix(k, "500") {
			t.Errorf("%d answers %s during the failover", n, k)
		}
	}
}

func startBody(guid, order string) map[string]any {
	return map[string]any{"version": "1", "guid": guid, "orderId": order, "orderAmount": 120.5, "locale": "en",
		"returnUrl": "http://127.0.0.1:9/return", "type": "SALE", "currency": "TRY",
		"customer": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}}
}
