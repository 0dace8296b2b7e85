package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// sent is one Akinon call a flow made and what came back.
type sent struct {
	path string
	body map[string]any
	ans  gatewaytest.Answer
}

// flowLog is every call of a load, in the order they were made.
type flowLog struct {
	mu    sync.Mutex
	calls []sent
	pages []int // statuses of card forms answered with other than 200
}

func (l *flowLog) call(base, path string, body map[string]any) gatewaytest.Answer {
	a := gatewaytest.AkinonAt(base).Post(path, body)
	l.mu.Lock()
	l.calls = append(l.calls, sent{path: path, body: body, ans: a})
	l.mu.Unlock()
	return a
}

// flow is one order's life: start-session, the shopper's payment, then
// what Akinon does with it. It stops at the first call that gets no
// answer (the gateway was killed) and retries nothing.
func flow(base string, log *flowLog, i int, prefix string) {
	order := prefix + "-" + strconv.Itoa(i)
	typ, card := "SALE", sandbox.CardApproved
	switch i % 6 {
	case 1, 3:
		typ = "AUTH"
	case 2:
		card = sandbox.CardTransient
	case 5:
		card = sandbox.CardDeclined
	}
	ok := func(a gatewaytest.Answer) bool { return a.Err == nil && a.Status == http.StatusOK }
	body := startBody("s-"+order, order)
	body["type"] = typ
	start := log.call(base, "/start-session", body)
	if !ok(start) {
		return
	}
	m := redirectRE.FindSubmatch(start.Body)
	if m == nil {
		return
	}
	p := gatewaytest.Shop(string(m[1]), card)
	if p.Err == nil && p.Status != http.StatusOK {
		// Not a kill: a refusal (a throttle, say) would quietly turn
		// the flows into start-sessions and the test into little.
		log.mu.Lock()
		log.pages = append(log.pages, p.Status)
		log.mu.Unlock()
	}
	if p.Err != nil || !bytes.Contains(p.Body, []byte(`value="RESOLVED"`)) {
		return
	}
	op := func(path, guid string, extra ...any) bool {
		body := map[string]any{"version": "1", "guid": guid + "-" + order, "orderId": order}
		for k := 0; k+1 < len(extra); k += 2 {
			body[extra[k].(string)] = extra[k+1]
		}
		return ok(log.call(base, path, body))
	}
	switch i % 6 {
	case 0, 4:
		_ = op("/purchase", "p") && op("/refund", "r1", "amount", 30, "currency", "TRY") && op("/refund", "r2", "amount", 20.5, "currency", "TRY")
	case 1:
		_ = op("/purchase", "p", "orderAmount", 60) && op("/void", "v")
	case 2:
		_ = op("/void", "v")
	case 3:
		_ = op("/void", "v") && op("/history", "h")
	}
}

var redirectRE = regexpMust(`"redirectUrl":"([^"]+)"`)

// TestKillsUnderLoad: 200 flows of every kind (sale and auth, payments
// that retry at the bank, declines, purchases, partial captures, voids,
// refunds) run at once while the gateway is SIGKILLed at random moments
// and restarted; nothing is retried. Within the lease and the
// reconciler's interval everything is settled and the ledger audit finds
// no difference. Then every guid is retried: each answers its settled
// reply, byte for byte what was answered before where there was an
// answer, and moves no money.
func TestKillsUnderLoad(t *testing.T) {
	const flows, kills = 200, 4
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("KILL_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("KILL_SEED=%d", seed)

	store, bankSrv := redistest.Start(t, redistest.Durable()), redistest.Start(t, redistest.Durable())
	h := mustHook(t, true)
	gw := gatewaytest.StartProcess(t, faultEnv(t, store.URL(), bankSrv.URL(), h.URL, map[string]string{"SANDBOX_LATENCY": "20ms"}))
	bank, _ := books(t, bankSrv.URL())

	log := &flowLog{}
	var wg sync.WaitGroup
	// A flow due while the gateway is down starts once it is back: the
	// kills cut calls under way, however long a restart takes on a busy
	// machine, and no call is retried.
	var down sync.RWMutex
	began := time.Now()
	for i := range flows {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 10 * time.Millisecond) // 200 flows started over 2 s
			down.RLock()
			//lint:ignore SA2001 the empty section waits out a restart
			down.RUnlock()
			flow(gw.Base, log, i, "k")
		})
	}
	// Kills at random moments over the 2 s the flows start in.
	at := make([]time.Duration, kills)
	for k := range at {
		at[k] = time.Duration(rng.IntN(2200)) * time.Millisecond
	}
	slices.Sort(at)
	var killedAt []time.Duration
	for _, d := range at {
		time.Sleep(time.Until(began.Add(d)))
		down.Lock()
		gw.Kill()
		killedAt = append(killedAt, time.Since(began).Round(time.Millisecond))
		gw.Restart()
		down.Unlock()
	}
	lastKill := time.Now()
	wg.Wait()

	waitSettled(t, store.URL(), settleWithin)
	settled := time.Since(lastKill)
	rep := mustAudit(t, store.URL(), bankSrv.URL(), time.Second)
	broken, answered := 0, 0
	for _, c := range log.calls {
		if c.ans.Err != nil {
			broken++
		} else {
			answered++
		}
	}
	t.Logf("%d flows, %d Akinon calls (%d answered, %d cut by a kill), %d kills at %v", flows, len(log.calls), answered, broken, kills, killedAt)
	if len(log.pages) > 0 {
		t.Errorf("%d card forms were answered %v instead of a payment", len(log.pages), log.pages)
	}
	if rep.Payments < flows/2 {
		t.Errorf("%d of %d flows' payments reached the bank: the kills should cut a few, not most", rep.Payments, flows)
	}
	t.Logf("everything settled %s after the last kill (lease 4s + margin 1s + interval 200ms); audit: %d orders, %d payments at the bank, %d operations, 0 differences",
		settled.Round(time.Millisecond), rep.Orders, rep.Payments, rep.Operations)

	// Every payment the shopper made or the reconciler settled has its
	// webhook (at least once).
	opts, _ := redis.ParseURL(store.URL())
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	st := redisstore.New(rdb, "gw", 1)
	ctx := context.Background()
	want := map[string]string{} // session → status its webhook must carry
	byInquiry := map[provider.Action]int{}
	if err := st.EachOrder(ctx, func(merchant, order string) error {
		sess, err := st.Order(ctx, merchant, order)
		if err != nil {
			return err
		}
		steps, err := st.Steps(ctx, merchant, order)
		if err != nil {
			return err
		}
		for _, step := range steps {
			for _, sub := range step.SubSteps {
				if strings.HasPrefix(sub.StatusDetail, "settled by inquiry") {
					byInquiry[step.Type]++
				}
			}
		}
		switch sess.Phase {
		case provider.PhaseAuthorised, provider.PhasePurchased, provider.PhaseVoided:
			want[sess.ID] = "RESOLVED"
		case provider.PhaseRejected:
			want[sess.ID] = "REJECTED"
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("settled by inquiry: %v", byInquiry)
	redistest.Eventually(t, 20*time.Second, "every payment's webhook", func() bool {
		byEvent, _, _ := h.accepted()
		got := map[string]string{}
		for id := range byEvent {
			if b, ok := h.body(id); ok {
				got[b.SessionID] = b.Status
			}
		}
		for sid, status := range want {
			if got[sid] != status {
				return false
			}
		}
		return true
	})
	byEvent, _, bad := h.accepted()
	dups := 0
	for _, n := range byEvent {
		dups += n - 1
	}
	t.Logf("webhooks: %d payments, %d events delivered, %d delivered twice, %d failed verification", len(want), len(byEvent), dups, len(bad))
	if len(bad) > 0 {
		t.Fatalf("deliveries that did not verify: %v", bad)
	}

	// Retry every guid.
	effects := func() string {
		return fmt.Sprint(bank.Effects("Capture"), bank.Effects("Void"), bank.Effects("Refund"))
	}
	before := effects()
	replayed, identical, fresh := 0, 0, 0
	for _, c := range log.calls {
		guid := c.body["guid"].(string)
		stored := rdb.HGet(ctx, "gw:{0}:i:default:"+guid, "b").Val()
		a := gatewaytest.AkinonAt(gw.Base).PostRaw(c.path, mustMarshal(t, c.body))
		if stored == "" {
			fresh++ // never reached the store before the kill: runs now
			continue
		}
		if a.Header.Get("Idempotent-Replayed") != "true" || string(a.Body) != stored {
			t.Fatalf("%s %s retried: %s; want its settled reply %s", c.path, guid, a, stored)
		}
		replayed++
		if c.ans.Err == nil {
			if !bytes.Equal(a.Body, c.ans.Body) {
				t.Fatalf("%s %s answered %s before, %s now", c.path, guid, c.ans.Body, a.Body)
			}
			identical++
		}
	}
	if fresh == 0 && effects() != before {
		t.Fatalf("retries moved money: effects %s before, %s after", before, effects())
	}
	t.Logf("retried every guid: %d replayed their settled reply (%d byte for byte as answered before the kills), %d had never reached the store", replayed, identical, fresh)
	mustAudit(t, store.URL(), bankSrv.URL(), time.Second)
}
