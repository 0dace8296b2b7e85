package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/audit"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// askedBank counts the processor's Status calls by payment.
type askedBank struct {
	*sandbox.Processor
	mu    sync.Mutex
	asked map[string]int
}

func (b *askedBank) Status(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	b.mu.Lock()
	b.asked[req.Reference]++
	b.mu.Unlock()
	return b.Processor.Status(ctx, req)
}

// TestTwoReplicasPassesAtOnce: two replicas run their passes of the jobs
// at the same moments over one store, each writing its changes several
// to a round trip. Every unpaid session expires once and every PENDING
// payment is asked about and resolved once, each with one webhook event.
func TestTwoReplicasPassesAtOnce(t *testing.T) {
	const unpaid, pending = 60, 20
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	start := time.Now()
	later := start.Add(48 * time.Hour)
	bank := &askedBank{asked: map[string]int{},
		Processor: sandbox.New(srv.Client(t), sandbox.Options{Prefix: prefix + "-bank", Now: func() time.Time { return later }})}
	var stores []*redisstore.Store
	var replicas []*provider.Service
	var sid string
	for range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		st := redisstore.New(rdb, prefix, 4)
		svc := gatewaytest.Service(st, bank, provider.DefaultConfig())
		svc.SetEvents(plainEncoder{})
		svc.SetRenderers(sessionIDOf(&sid))
		svc.SetClock(func() time.Time { return start })
		stores, replicas = append(stores, st), append(replicas, svc)
	}
	ctx := context.Background()
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	for i := range unpaid + pending {
		order := fmt.Sprintf("o-%d", i)
		if _, err := replicas[0].StartSession(ctx, provider.StartInput{Request: provider.Request{Merchant: m, GUID: "s-" + order,
			OrderID: order, Fingerprint: "fp-" + order}, Type: provider.Sale, Amount: 10000, Currency: "TRY", Locale: "en",
			ReturnURL: "https://shop.example/r"}); err != nil {
			t.Fatal(err)
		}
		if i < unpaid {
			continue
		}
		sess, err := replicas[0].Session(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		v, err := replicas[0].Pay(ctx, m, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardPendingOK, Expiry: "12/39", CVC: "123"})
		if err != nil || v.Session.Phase != provider.PhasePending {
			t.Fatalf("pay %s: %v %+v", order, err, v.Session)
		}
	}
	before, err := stores[0].OutboxStats(ctx, later)
	if err != nil {
		t.Fatal(err)
	}

	for _, svc := range replicas {
		svc.SetClock(func() time.Time { return later })
	}
	var total provider.JobReport
	redistest.Eventually(t, 20*time.Second, "every entry worked by the two replicas", func() bool {
		reps := make([]provider.JobReport, len(replicas))
		errs := make([]error, len(replicas))
		var wg sync.WaitGroup
		for i, svc := range replicas {
			wg.Go(func() { reps[i], errs[i] = svc.RunJobsOnce(ctx) })
		}
		wg.Wait()
		for i := range replicas {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			total.Resolved += reps[i].Resolved
			total.Expired += reps[i].Expired
		}
		return total.Expired+total.Resolved >= unpaid+pending
	})
	if total.Expired != unpaid || total.Resolved != pending {
		t.Fatalf("the replicas expired %d and resolved %d, want %d and %d", total.Expired, total.Resolved, unpaid, pending)
	}
	after, err := stores[0].OutboxStats(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if n := after.Depth - before.Depth; n != unpaid+pending {
		t.Errorf("%d events queued, want one for each of the %d sessions", n, unpaid+pending)
	}
	bank.mu.Lock()
	defer bank.mu.Unlock()
	if len(bank.asked) != pending {
		t.Errorf("the bank was asked about %d payments, want %d", len(bank.asked), pending)
	}
	for ref, n := range bank.asked {
		if n != 1 {
			t.Errorf("the bank was asked %d times about %s, want once", n, ref)
		}
	}
	for i := range unpaid + pending {
		order := fmt.Sprintf("o-%d", i)
		o, err := stores[1].Order(ctx, "m1", order)
		want := provider.PhaseExpired
		if i >= unpaid {
			want = provider.PhaseAuthorised
		}
		if err != nil || o.Phase != want {
			t.Errorf("%s: %v, %v; want %s", order, o.Phase, err, want)
		}
	}
	rep, err := audit.Run(ctx, stores[1], bank.Processor, later, time.Second)
	if err != nil || len(rep.Differences) > 0 || rep.Payments != pending {
		t.Fatalf("ledger audit: %d payments at the bank, differences %v (%v); want %d, none", rep.Payments, rep.Differences, err, pending)
	}
}
