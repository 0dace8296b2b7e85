package commerce

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWebhook(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name       string
		noKey      bool                // the shop has no WEBHOOK_HASH_KEY
		event      func(*Order) []byte // the body
		headerKey  string              // signs the Standard Webhooks headers
		at         time.Time
		wantCode   int
		wantResult string
		wantStatus OrderStatus
		wantTaken  int // webhooks recorded on the order
	}{
		{name: "resolved", event: func(o *Order) []byte {
			return mustJSON(t, newTestEvent(o, "ev-1", StatusResolved, "RESOLVED").sign(testWebhookKey))
		}, wantCode: 200, wantResult: "applied", wantStatus: OrderAuthorised, wantTaken: 1},
		{name: "rejected risky", event: func(o *Order) []byte {
			return mustJSON(t, newTestEvent(o, "ev-1", StatusRejected, "RISKY").sign(testWebhookKey))
		}, wantCode: 200, wantResult: "applied", wantStatus: OrderPaymentFailed, wantTaken: 1},
		{name: "pending changes nothing", event: func(o *Order) []byte {
			return mustJSON(t, newTestEvent(o, "ev-1", StatusPending, "PAYMENT_WAITING").sign(testWebhookKey))
		}, wantCode: 200, wantResult: "applied", wantStatus: OrderRedirected, wantTaken: 1},
		{name: "an older session's event is only kept", event: func(o *Order) []byte {
			e := newTestEvent(o, "ev-1", StatusResolved, "RESOLVED")
			e.SessionID = "sess-old"
			return mustJSON(t, e.sign(testWebhookKey))
		}, wantCode: 200, wantResult: "applied", wantStatus: OrderRedirected, wantTaken: 1},
		{name: "signature of another key", headerKey: "another-key-0123456789abcdef0123456789ab", event: func(o *Order) []byte {
			return mustJSON(t, newTestEvent(o, "ev-1", StatusResolved, "RESOLVED").sign(testWebhookKey))
		}, wantCode: 401, wantResult: "refused", wantStatus: OrderRedirected},
		{name: "timestamp 10 minutes old", at: now.Add(-10 * time.Minute), event: func(o *Order) []byte {
			return mustJSON(t, newTestEvent(o, "ev-1", StatusResolved, "RESOLVED").sign(testWebhookKey))
		}, wantCode: 401, wantResult: "refused", wantStatus: OrderRedirected},
		{name: "body hash of another key", event: func(o *Order) []byte {
			return mustJSON(t, newTestEvent(o, "ev-1", StatusResolved, "RESOLVED").sign("another-key-0123456789abcdef0123456789ab"))
		}, wantCode: 401, wantResult: "refused", wantStatus: OrderRedirected},
		{name: "amount changed after the body hash", event: func(o *Order) []byte {
			e := newTestEvent(o, "ev-1", StatusResolved, "RESOLVED").sign(testWebhookKey)
			e.Amount = json.RawMessage("1.00")
			return mustJSON(t, e)
		}, wantCode: 401, wantResult: "refused", wantStatus: OrderRedirected},
		{name: "amount written with one decimal", event: func(o *Order) []byte {
			e := newTestEvent(o, "ev-1", StatusResolved, "RESOLVED").sign(testWebhookKey)
			e.Amount = json.RawMessage("100.0")
			return mustJSON(t, e)
		}, wantCode: 401, wantResult: "refused", wantStatus: OrderRedirected},
		{name: "amount as a string", event: func(o *Order) []byte {
			e := newTestEvent(o, "ev-1", StatusResolved, "RESOLVED")
			e.Amount = json.RawMessage(`"100.00"`)
			return mustJSON(t, e.sign(testWebhookKey))
		}, wantCode: 400, wantResult: "refused", wantStatus: OrderRedirected},
		{name: "no eventId", event: func(o *Order) []byte {
			return mustJSON(t, newTestEvent(o, "", StatusResolved, "RESOLVED").sign(testWebhookKey))
		}, wantCode: 400, wantResult: "refused", wantStatus: OrderRedirected},
		{name: "no such pair", event: func(o *Order) []byte {
			return mustJSON(t, newTestEvent(o, "ev-1", StatusResolved, "RISKY").sign(testWebhookKey))
		}, wantCode: 400, wantResult: "refused", wantStatus: OrderRedirected},
		{name: "not JSON", event: func(*Order) []byte { return []byte("status=RESOLVED") },
			wantCode: 400, wantResult: "refused", wantStatus: OrderRedirected},
		{name: "another order", event: func(o *Order) []byte {
			e := newTestEvent(o, "ev-1", StatusResolved, "RESOLVED")
			e.OrderID = "ON-other-0001"
			return mustJSON(t, e.sign(testWebhookKey))
		}, wantCode: 200, wantResult: "unknown order", wantStatus: OrderRedirected},
		{name: "the shop has no webhook key", noKey: true, event: func(o *Order) []byte {
			return mustJSON(t, newTestEvent(o, "ev-1", StatusResolved, "RESOLVED").sign(testWebhookKey))
		}, wantCode: 503, wantResult: "refused", wantStatus: OrderRedirected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustShop(t, func(c *Config) {
				if tc.noKey {
					c.WebhookHashKey = ""
				}
			})
			o := mustRedirectedOrder(t, s, OrderSpec{}, "sess-1")
			key, at := or(tc.headerKey, testWebhookKey), tc.at
			if at.IsZero() {
				at = now
			}
			w := serve(t, s, webhookRequest(tc.event(o), "msg-1", key, at))
			var answer webhookAnswer
			_ = json.Unmarshal(w.Body.Bytes(), &answer)
			if w.Code != tc.wantCode || answer.Result != tc.wantResult {
				t.Errorf("answer %d %q (%s), want %d %q", w.Code, answer.Result, answer.Detail, tc.wantCode, tc.wantResult)
			}
			v := o.View()
			if v.Status != tc.wantStatus || len(v.Webhooks) != tc.wantTaken {
				t.Errorf("order %s with %d webhooks, want %s with %d", v.Status, len(v.Webhooks), tc.wantStatus, tc.wantTaken)
			}
			st := s.WebhookStats()
			if refused := tc.wantResult == "refused"; (st.Refused == 1) != refused || st.Received != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// The gateway delivers at least once, possibly at the same moment from
// two replicas: one event is applied once.
func TestWebhookDeduplicatesByEventID(t *testing.T) {
	s := mustShop(t)
	o := mustRedirectedOrder(t, s, OrderSpec{}, "sess-1")
	body := mustJSON(t, newTestEvent(o, "ev-dup", StatusResolved, "RESOLVED").sign(testWebhookKey))
	const n = 16
	results := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each delivery has its own webhook-id, as a retry may.
			w := serve(t, s, webhookRequest(body, "msg-"+itoa(int64(i)), testWebhookKey, time.Now()))
			var a webhookAnswer
			_ = json.Unmarshal(w.Body.Bytes(), &a)
			results[i] = itoa(int64(w.Code)) + " " + a.Result
		}()
	}
	wg.Wait()
	applied, dup := 0, 0
	for _, r := range results {
		switch r {
		case "200 applied":
			applied++
		case "200 duplicate":
			dup++
		default:
			t.Errorf("answer %q", r)
		}
	}
	if applied != 1 || dup != n-1 {
		t.Errorf("%d applied, %d duplicates; want 1 and %d", applied, dup, n-1)
	}
	if v := o.View(); len(v.Webhooks) != 1 || v.Status != OrderAuthorised {
		t.Errorf("order %s with %d webhooks, want authorised with 1", v.Status, len(v.Webhooks))
	}
	if st := s.WebhookStats(); st.Applied != 1 || st.Duplicates != n-1 || st.Received != n {
		t.Errorf("stats %+v", st)
	}
}

// The return and the webhook of one payment may arrive together; the
// order reacts once.
func TestReturnAndWebhookTogether(t *testing.T) {
	for range 20 {
		s := mustShop(t)
		o := mustRedirectedOrder(t, s, OrderSpec{}, "sess-1")
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			serve(t, s, postForm(PathReturn, returnFields(o, testHashKey, "", nil)))
		}()
		go func() {
			defer wg.Done()
			body := mustJSON(t, newTestEvent(o, "ev-1", StatusResolved, "RESOLVED").sign(testWebhookKey))
			serve(t, s, webhookRequest(body, "msg-1", testWebhookKey, time.Now()))
		}()
		wg.Wait()
		if v := o.View(); v.Status != OrderAuthorised || len(v.Webhooks) != 1 || v.Returns != 1 || !v.Return.Verified {
			t.Fatalf("order %s, %d webhooks, %d returns", v.Status, len(v.Webhooks), v.Returns)
		}
	}
}

func TestWebhookBodyLimit(t *testing.T) {
	s := mustShop(t)
	big := strings.Repeat("x", 65<<10)
	w := serve(t, s, webhookRequest([]byte(big), "msg-1", testWebhookKey, time.Now()))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", w.Code)
	}
}
