package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestRetriesFollowTheScheduleUntilAccepted(t *testing.T) {
	const failures = 3
	rcv := mustReceiver(t, func(n int, _ delivery) int {
		if n <= failures {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	schedule := ms(0, 300, 600, 1200, 2000)
	w := mustWorld(t, redistest.Shared(t), rcv.URL, schedule)
	sess := w.mustPaidOrder(t, "o-retry", sandbox.CardApproved)
	runSender(t, w.sender("r1", 2*time.Second))

	redistest.Eventually(t, 15*time.Second, "the accepted delivery", func() bool { return len(rcv.deliveries()) == failures+1 })
	got := rcv.deliveries()
	first := got[0].eventID
	for i, d := range got {
		if d.eventID == "" || d.eventID != first || d.headerID != first {
			t.Errorf("attempt %d: body eventId %q, webhook-id %q; want both %q", i+1, d.eventID, d.headerID, first)
		}
		if string(d.body) != string(got[0].body) {
			t.Errorf("attempt %d re-sent another body:\n%s\nfirst:\n%s", i+1, d.body, got[0].body)
		}
		if !d.hashOK {
			t.Errorf("attempt %d: contract hash does not verify", i+1)
		}
		if d.sigErr != nil {
			t.Errorf("attempt %d: Standard Webhooks signature: %v", i+1, d.sigErr)
		}
	}
	// Spacing: never earlier than the schedule, and at most its jitter
	// (+20 %) plus the sender's polling and a loaded machine's scheduling.
	const slack = 600 * time.Millisecond
	for i := 1; i < len(got); i++ {
		gap, want := got[i].at.Sub(got[i-1].at), schedule[i]
		if gap < want || gap > want+want/5+slack {
			t.Errorf("gap before attempt %d = %s, want %s..%s\n%s", i+1, gap, want, want+want/5+slack, describe(got))
		}
	}

	// The sender records the attempt once the answer is back: after the
	// receiver counted it.
	var (
		ev       provider.OutboxEvent
		attempts []provider.Attempt
		err      error
	)
	redistest.Eventually(t, 10*time.Second, "the accepted attempt recorded", func() bool {
		ev, attempts, err = w.store.Event(context.Background(), first)
		return err != nil || ev.State == provider.OutcomeDelivered
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev.State != provider.OutcomeDelivered || ev.OrderID != sess.OrderID || len(attempts) != failures+1 {
		t.Fatalf("event after delivery: state %q order %q attempts %d", ev.State, ev.OrderID, len(attempts))
	}
	for i, a := range attempts {
		want, status := provider.OutcomeRetry, http.StatusInternalServerError
		if i == failures {
			want, status = provider.OutcomeDelivered, http.StatusNoContent
		}
		if a.N != i+1 || a.Outcome != want || a.Status != status || a.Replica != "r1" {
			t.Errorf("attempt log %d = %+v, want n=%d outcome %s status %d", i, a, i+1, want, status)
		}
	}
	// Delivered means no attempt is left to make: the outbox is empty.
	st, err := w.store.OutboxStats(context.Background(), time.Now())
	if err != nil || st.Depth != 0 {
		t.Fatalf("outbox after delivery: %+v %v", st, err)
	}
}

func TestReceiverGoneStopsTheEvent(t *testing.T) {
	rcv := mustReceiver(t, func(int, delivery) int { return http.StatusGone })
	w := mustWorld(t, redistest.Shared(t), rcv.URL, ms(0, 50, 50, 50))
	w.mustPaidOrder(t, "o-gone", sandbox.CardDeclined)
	runSender(t, w.sender("r1", time.Second))

	redistest.Eventually(t, 5*time.Second, "the event to stop", func() bool {
		dead, _ := w.store.DeadLetters(context.Background(), 10)
		return len(dead) == 1 && dead[0].State == provider.OutcomeGone
	})
	if n := len(rcv.deliveries()); n != 1 {
		t.Fatalf("a 410 must stop the event after one attempt; receiver got %d", n)
	}
}

func TestShutdownFinishesTheAttemptInFlight(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	rcv := mustReceiver(t, func(int, delivery) int {
		arrived <- struct{}{}
		<-release
		return http.StatusOK
	})
	w := mustWorld(t, redistest.Shared(t), rcv.URL, ms(0, 50))
	w.mustPaidOrder(t, "o-drain", sandbox.CardApproved)
	stop := runSender(t, w.sender("r1", 5*time.Second))

	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no attempt arrived")
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("the sender stopped with an attempt in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the sender did not stop after its attempt finished")
	}
	ev, attempts, err := w.store.Event(context.Background(), rcv.deliveries()[0].eventID)
	if err != nil || ev.State != provider.OutcomeDelivered || len(attempts) != 1 {
		t.Fatalf("after shutdown: state %q attempts %d err %v; want the attempt recorded as delivered", ev.State, len(attempts), err)
	}
}

func TestTwoSendersNeverSendOneAttemptTwice(t *testing.T) {
	rcv := mustReceiver(t, func(int, delivery) int { return http.StatusOK })
	w := mustWorld(t, redistest.Shared(t), rcv.URL, ms(0, 50))
	const events = 60
	for i := range events {
		w.mustPaidOrder(t, "o-pair-"+string(rune('a'+i%26))+string(rune('a'+i/26)), sandbox.CardApproved)
	}
	// A claim lasts 2×timeout+5 s: long beyond any attempt here, even on
	// a loaded machine, so a second delivery could only come from two
	// senders holding one claim.
	runSender(t, w.sender("r1", 5*time.Second))
	runSender(t, w.sender("r2", 5*time.Second))
	redistest.Eventually(t, 10*time.Second, "every event recorded as delivered", func() bool {
		st, err := w.store.OutboxStats(context.Background(), time.Now())
		return err == nil && st.Depth == 0 && len(rcv.deliveries()) >= events
	})
	seen := map[string]int{}
	for _, d := range rcv.deliveries() {
		seen[d.eventID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(seen) != events {
		t.Fatalf("%d distinct events delivered, want %d", len(seen), events)
	}
}

// TestDeliveriesReuseTheirConnections: a sender keeps a connection to the
// receiver for each attempt it has in flight, so a backlog does not cost
// a new connection (over HTTPS, a new handshake) per delivery. Go's
// default transport keeps two idle connections a host.
func TestDeliveriesReuseTheirConnections(t *testing.T) {
	rcv := mustReceiver(t, func(int, delivery) int { return http.StatusOK })
	w := mustWorld(t, redistest.Shared(t), rcv.URL, ms(0, 50))
	const events = 200
	for i := range events {
		w.mustPaidOrder(t, fmt.Sprintf("o-conn-%d", i), sandbox.CardApproved)
	}
	s := w.sender("r1", 5*time.Second) // 8 workers
	runSender(t, s)
	redistest.Eventually(t, 10*time.Second, "every event recorded as delivered", func() bool {
		st, err := w.store.OutboxStats(context.Background(), time.Now())
		return err == nil && st.Depth == 0 && len(rcv.deliveries()) >= events
	})
	if n := rcv.opened.Load(); n > 16 {
		t.Errorf("%d deliveries opened %d connections, want about one per worker (8, and a spare each for a dial that lost its race to a freed one)", events, n)
	}
}

// TestRedirectsAreNeverFollowed: a receiver that answers 302 is not a
// delivery. A client that follows it re-sends as a GET without the body,
// gets a 200 from the new address, and the event is marked delivered and
// lost. The sender records the 3xx as a failed attempt, with its
// Location for operators, and retries the receiver itself.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	elsewhere := 0
	var elsewhereMu sync.Mutex
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhereMu.Lock()
		elsewhere++
		elsewhereMu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(other.Close)
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			rcv := mustReceiver(t, func(n int, _ delivery) int {
				if n == 1 {
					return status
				}
				return http.StatusNoContent
			})
			rcv.headers = func(n int) http.Header {
				if n == 1 {
					return http.Header{"Location": {other.URL + "/moved"}}
				}
				return nil
			}
			w := mustWorld(t, redistest.Shared(t), rcv.URL, ms(0, 200, 1000))
			w.mustPaidOrder(t, "o-redirect", sandbox.CardApproved)
			runSender(t, w.sender("r1", 2*time.Second))
			redistest.Eventually(t, 10*time.Second, "the retry after the redirect", func() bool { return len(rcv.deliveries()) == 2 })
			got := rcv.deliveries()
			ev, attempts, err := w.store.Event(context.Background(), got[0].eventID)
			if err != nil {
				t.Fatal(err)
			}
			redistest.Eventually(t, 5*time.Second, "the second attempt to be recorded", func() bool {
				ev, attempts, _ = w.store.Event(context.Background(), got[0].eventID)
				return len(attempts) == 2
			})
			first := attempts[0]
			if first.Status != status || first.Outcome != provider.OutcomeRetry || first.Location != other.URL+"/moved" {
				t.Fatalf("the redirected attempt was recorded as %+v", first)
			}
			if ev.State != provider.OutcomeDelivered || string(got[1].body) != string(got[0].body) {
				t.Fatalf("after the retry: state %s", ev.State)
			}
			elsewhereMu.Lock()
			defer elsewhereMu.Unlock()
			if elsewhere != 0 {
				t.Fatalf("the sender followed the redirect %d times", elsewhere)
			}
		})
	}
}

// TestInternalTargetsAreRefusedAtConnect: outside DEV_MODE (and without
// WEBHOOK_ALLOW_PRIVATE) the sender refuses to connect to a loopback,
// private or link-local address, whatever the URL's name resolved to
// when it was configured: the check is on the address dialled. The
// attempt fails, is recorded with why, and nothing reaches the receiver.
func TestInternalTargetsAreRefusedAtConnect(t *testing.T) {
	rcv := mustReceiver(t, func(int, delivery) int { return http.StatusOK })
	// "localhost" passes a check of the URL's text; it resolves to loopback.
	target := strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1)
	w := mustWorld(t, redistest.Shared(t), target, ms(0, 60000))
	w.mustPaidOrder(t, "o-internal", sandbox.CardApproved)
	s := webhook.NewSender(w.store, w.merchants, nil, webhook.Config{Schedule: w.schedule, Timeout: time.Second, Workers: 1,
		Poll: 10 * time.Millisecond, Retention: time.Hour, Replica: "r1", AllowPrivate: false}, nil)
	runSender(t, s)
	rdb := redistest.Shared(t).Client(t)
	var attempts []provider.Attempt
	redistest.Eventually(t, 10*time.Second, "the refused attempt to be recorded", func() bool {
		for _, k := range rdb.Keys(context.Background(), "*:wh:e:*").Val() {
			if rdb.HGet(context.Background(), k, "order").Val() == "o-internal" {
				_, attempts, _ = w.store.Event(context.Background(), k[strings.LastIndex(k, ":")+1:])
			}
		}
		return len(attempts) == 1
	})
	if a := attempts[0]; a.Outcome != provider.OutcomeRetry || !strings.Contains(a.Error, "loopback address") {
		t.Fatalf("the attempt to an internal address was recorded as %+v", a)
	}
	if n := len(rcv.deliveries()); n != 0 {
		t.Fatalf("the receiver on loopback got %d deliveries", n)
	}
}
