package main

import (
	"bytes"
	"context"
	"fmt"
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
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// topology is a Redis the gateway runs on that can fail over.
type topology interface {
	URL() string
}

type haSetup struct {
	name   string
	shards int
	start  func(t *testing.T) topology
	faults []haFault
}

type haFault struct {
	name string
	do   func(t *testing.T, topo topology)
}

// TestFailover runs the gateway (REDIS_MIN_REPLICAS=1) on a Sentinel
// group and on a Cluster while concurrent checkouts run and a probe sends
// a new start-session every 20 ms, and fails the store over: planned, and
// by SIGKILLing the master. Every answer is recorded. After each: every
// stored answer (200, 404, 422) replays byte for byte (0 lost), no order
// was charged twice (0 doubled), the ledger audit finds 0 differences,
// every payment's webhook arrived (duplicates counted), and the outage —
// first to last probe that was not a 200 — is measured.
//
// The Redis topologies take a while to start; the test runs with
// GATEWAY_HA=1 (make test-ha).
func TestFailover(t *testing.T) {
	if os.Getenv("GATEWAY_HA") == "" {
		t.Skip("set GATEWAY_HA=1 (make test-ha) to start Sentinel and Cluster topologies")
	}
	setups := []haSetup{
		{"sentinel", 1, func(t *testing.T) topology { return redistest.StartSentinel(t, redistest.Safe()) }, []haFault{
			{"planned failover", func(t *testing.T, topo topology) { topo.(*redistest.Sentinel).Failover(t) }},
			{"master killed", func(t *testing.T, topo topology) { topo.(*redistest.Sentinel).KillMaster(t) }},
		}},
		{"cluster", 16, func(t *testing.T) topology { return redistest.StartCluster(t, redistest.Safe()) }, []haFault{
			{"planned failover", func(t *testing.T, topo topology) {
				c := topo.(*redistest.Cluster)
				c.Failover(t, c.Masters()[0])
			}},
			{"master killed", func(t *testing.T, topo topology) {
				c := topo.(*redistest.Cluster)
				c.KillMaster(t, c.Masters()[0])
			}},
		}},
	}
	for _, setup := range setups {
		t.Run(setup.name, func(t *testing.T) {
			topo := setup.start(t)
			bankSrv := redistest.Start(t, redistest.Durable()) // the bank's books do not fail over with us
			h := mustHook(t, true)
			gw := startGateway(t, faultEnv(t, topo.URL(), bankSrv.URL(), h.URL, map[string]string{
				"REDIS_MIN_REPLICAS": "1", "REDIS_REPLICA_TIMEOUT": "500ms", "REDIS_SHARDS": strconv.Itoa(setup.shards)}))
			for i, fault := range setup.faults {
				t.Run(fault.name, func(t *testing.T) {
					runFailover(t, gw, topo, setup.shards, bankSrv.URL(), h, fault, fmt.Sprintf("%s-%d", setup.name, i))
				})
			}
		})
	}
}

// probe is one start-session the probe sent.
type probe struct {
	at  time.Time
	ans answer
}

func runFailover(t *testing.T, gw *process, topo topology, shards int, booksURL string, h *hook, fault haFault, run string) {
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
			probes = append(probes, probe{at, a})
			probesMu.Unlock()
		}
	})

	time.Sleep(time.Second)
	began := time.Now()
	fault.do(t, topo)
	t.Logf("%s took %s", fault.name, time.Since(began).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	// The outage: first to last probe that was not a 200.
	var first, last time.Time
	for _, p := range probes {
		if p.ans.Err == nil && p.ans.Status == http.StatusOK {
			continue
		}
		if first.IsZero() {
			first = p.at
		}
		last = p.at
	}
	outage := time.Duration(0)
	if !first.IsZero() {
		outage = last.Sub(first) + 20*time.Millisecond
	}

	waitSettledShards(t, topo.URL(), shards, settleWithin)
	rep := mustAuditShards(t, topo.URL(), shards, booksURL, time.Second)

	// 0 lost: every stored answer replays byte for byte.
	stored, lost := 0, 0
	for _, c := range log.calls {
		if c.ans.Err != nil || (c.ans.Status != http.StatusOK && c.ans.Status != http.StatusNotFound && c.ans.Status != http.StatusUnprocessableEntity) {
			continue
		}
		stored++
		a := postRaw(gw.Base, c.path, mustMarshal(t, c.body))
		if a.Status != c.ans.Status || !bytes.Equal(a.Body, c.ans.Body) || a.Header.Get("Idempotent-Replayed") != "true" {
			lost++
			if lost <= 5 {
				t.Errorf("%s %v answered %s before the failover, %s now", c.path, c.body["guid"], c.ans, a)
			}
		}
	}

	// 0 doubled: no order charged twice (two sessions holding money at
	// the bank), on top of the audit's reference-by-reference check.
	st := storeAt(t, topo.URL(), shards)
	bank, _ := books(t, booksURL)
	ctx := context.Background()
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
			codes["no answer"]++
		case c.ans.Status == http.StatusOK:
			codes["200"]++
		default:
			codes[strconv.Itoa(c.ans.Status)+" "+c.ans.code()]++
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
	t.Logf("answers recorded %d (%s), stored and replayed %d, lost %d, doubled %d, audit differences %d over %d orders, outage %s (%d probes), duplicate webhooks %d of %d payments",
		len(log.calls), summary[1:], stored, lost, doubled, len(rep.Differences), rep.Orders, outage.Round(time.Millisecond), len(probes), dups, len(payments))
	if lost > 0 || doubled > 0 {
		t.Fatalf("lost %d, doubled %d", lost, doubled)
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
