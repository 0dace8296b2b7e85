package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestEventReadsShowOneMoment: while a sender records attempts, an
// operator reading the event (Event, OrderEvents) sees its state and
// counter beside exactly the attempts that led to them. Read apart, an
// attempt recorded between the reads shows a retried event as pending
// after its delivery, or a count that disagrees with its list.
// It runs on one server and on a Cluster, where the reads' transaction
// goes to the shard that holds the event.
func TestEventReadsShowOneMoment(t *testing.T) {
	topologies := []struct {
		name   string
		shards int
		client func(t *testing.T) redis.UniversalClient
	}{
		{"one server", 1, func(t *testing.T) redis.UniversalClient { return redistest.Shared(t).Client(t) }},
		{"a Cluster, 4 shards", 4, func(t *testing.T) redis.UniversalClient {
			redistest.RequireServer(t, "a Cluster needs redis-server")
			o, err := redisstore.Options(redistest.StartCluster(t).URL())
			if err != nil {
				t.Fatal(err)
			}
			rdb := redis.NewUniversalClient(o)
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}},
	}
	for _, tt := range topologies {
		t.Run(tt.name, func(t *testing.T) { eventReadsShowOneMoment(t, tt.client(t), tt.shards) })
	}
}

func eventReadsShowOneMoment(t *testing.T, rdb redis.UniversalClient, shards int) {
	prefix := redistest.Prefix(t)
	st := redisstore.New(rdb, prefix, shards)
	bank := sandbox.New(rdb, sandbox.Options{Prefix: prefix})
	svc := gatewaytest.Service(st, bank, provider.DefaultConfig())
	svc.SetEvents(plainEncoder{})
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	ctx := context.Background()
	payWith(t, svc, m, startSale(t, svc, m, "order-1", "g1"), sandbox.CardDeclined)

	const attempts = 300
	done, stop := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(func() { close(stop); wg.Wait() }) // a failed read stops the sender before the test ends
	go func() {                                  // the sender: every attempt but the last is retried at once
		defer wg.Done()
		defer close(done)
		for n := 1; n <= attempts; n++ {
			select {
			case <-stop:
				return
			default:
			}
			now := time.Now()
			evs, err := st.ClaimEvents(ctx, now, time.Minute, 1)
			if err != nil || len(evs) != 1 {
				t.Errorf("claim %d: %d events, %v", n, len(evs), err)
				return
			}
			a := provider.Attempt{N: n, At: provider.FormatTime(now), Status: 503, Outcome: provider.OutcomeRetry, Replica: "r1"}
			if n == attempts {
				a.Status, a.Outcome = 200, provider.OutcomeDelivered
			}
			if ok, err := st.RecordAttempt(ctx, evs[0], a, now, now, time.Hour); !ok || err != nil {
				t.Errorf("record attempt %d: %v %v", n, ok, err)
				return
			}
		}
	}()
	consistent := func(how string, ev provider.OutboxEvent, as []provider.Attempt) {
		t.Helper()
		if ev.Attempts != len(as) {
			t.Fatalf("%s: the event counts %d attempts beside a list of %d", how, ev.Attempts, len(as))
		}
		if len(as) > 0 {
			want := "pending"
			if last := as[len(as)-1].Outcome; last != provider.OutcomeRetry {
				want = last
			}
			if ev.State != want {
				t.Fatalf("%s: state %s after an attempt that ended %s", how, ev.State, as[len(as)-1].Outcome)
			}
		}
	}
	reads := 0
	for running := true; running; reads++ {
		select {
		case <-done:
			running = false
		default:
		}
		logs, err := st.OrderEvents(ctx, m.ID, "order-1")
		if err != nil || len(logs) != 1 {
			t.Fatalf("order events: %+v %v", logs, err)
		}
		consistent("OrderEvents", logs[0].Event, logs[0].Attempts)
		ev, as, err := st.Event(ctx, logs[0].Event.ID)
		if err != nil {
			t.Fatal(err)
		}
		consistent("Event", ev, as)
	}
	wg.Wait()
	logs, err := st.OrderEvents(ctx, m.ID, "order-1")
	if err != nil || len(logs) != 1 || logs[0].Event.State != provider.OutcomeDelivered || len(logs[0].Attempts) != attempts {
		t.Fatalf("at the end: %+v %v", logs, err)
	}
	t.Logf("%d reads beside %d attempts", reads, attempts)
}
