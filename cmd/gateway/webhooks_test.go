package main

import (
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestPendingPaymentResolvesAndItsWebhookArrives(t *testing.T) {
	for _, tc := range []struct {
		card, status, subStatus string
	}{
		{sandbox.CardPendingOK, "RESOLVED", "RESOLVED"},
		{sandbox.CardPendingRisky, "REJECTED", "RISKY"},
	} {
		t.Run(tc.card, func(t *testing.T) {
			srv := redistest.Start(t)
			h := mustHook(t, true)
			base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), h.URL, map[string]string{"SANDBOX_PENDING_DELAY": "300ms"}))
			sid, redirect := gatewaytest.AkinonAt(base).StartSession(t, "o-pending")
			page := string(gatewaytest.MustShop(t, redirect, tc.card).Body)
			if !strings.Contains(page, `name="status" value="PENDING"`) {
				t.Fatalf("the shopper should return with PENDING:\n%s", page)
			}
			var found string
			redistest.Eventually(t, 10*time.Second, "the webhook of the resolution", func() bool {
				byEvent, _, _ := h.accepted()
				for id := range byEvent {
					if b, _ := h.body(id); b.SessionID == sid && b.Status != "PENDING" {
						found = id
						return true
					}
				}
				return false
			})
			b, _ := h.body(found)
			if b.Status != tc.status || b.SubStatus != tc.subStatus || b.OrderID != "o-pending" || b.Amount.String() != "120.50" {
				t.Fatalf("webhook = %+v, want %s/%s for o-pending 120.50", b, tc.status, tc.subStatus)
			}
			if _, _, bad := h.accepted(); len(bad) > 0 {
				t.Fatalf("deliveries that did not verify: %v", bad)
			}
			var hist struct {
				Status, Substatus string
			}
			gatewaytest.AkinonAt(base).Call(t, "/history", map[string]any{"guid": "h-1", "orderId": "o-pending"}, &hist)
			if hist.Status != tc.status || hist.Substatus != tc.subStatus {
				t.Fatalf("history after the webhook: %+v", hist)
			}
		})
	}
}

func TestUnpaidSessionExpiresAndItsWebhookArrives(t *testing.T) {
	srv := redistest.Start(t)
	h := mustHook(t, true)
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), h.URL, map[string]string{"SESSION_TTL": "300ms"}))
	sid, redirect := gatewaytest.AkinonAt(base).StartSession(t, "o-expire")
	redistest.Eventually(t, 10*time.Second, "the expiry webhook", func() bool {
		byEvent, _, _ := h.accepted()
		for id := range byEvent {
			if b, _ := h.body(id); b.SessionID == sid {
				return b.Status == "REJECTED" && b.SubStatus == "PROCESSING_ERROR"
			}
		}
		return false
	})
	resp, err := http.Get(redirect)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("the expired session's page: %d, want 410", resp.StatusCode)
	}
	var errBody struct {
		Errors []struct{ Code string }
	}
	if code := gatewaytest.AkinonAt(base).Call(t, "/purchase", map[string]any{"guid": "p-1", "orderId": "o-expire"}, &errBody); code != http.StatusUnprocessableEntity || errBody.Errors[0].Code != "session_expired" {
		t.Fatalf("purchase of an expired session: %d %+v", code, errBody)
	}
}

// TestThreeReplicasShareTheOutbox: 500 webhooks due at once in one Redis,
// three gateways on it. Each event is accepted exactly once, no attempt
// is sent twice, and every replica takes part.
func TestThreeReplicasShareTheOutbox(t *testing.T) {
	const events = 500
	srv := redistest.Start(t)
	h := mustHook(t, true)
	h.delay = 5 * time.Millisecond // a receiver that takes a moment, as real ones do
	mustDueEvents(t, srv.URL(), h.URL, events)
	for _, name := range []string{"replica-a", "replica-b", "replica-c"} {
		_, _ = gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), h.URL, map[string]string{"REPLICA_NAME": name}))
	}
	redistest.Eventually(t, 30*time.Second, "every event accepted", func() bool {
		byEvent, _, _ := h.accepted()
		return len(byEvent) == events
	})
	// Let any duplicate that is on its way arrive: wait until the outbox
	// says nothing is left to send.
	redistest.Eventually(t, 10*time.Second, "an empty outbox", func() bool {
		return srv.Client(t).ZCard(t.Context(), "gw:{0}:wh:due").Val() == 0
	})
	byEvent, byReplica, bad := h.accepted()
	twice := 0
	for _, n := range byEvent {
		if n != 1 {
			twice++
		}
	}
	t.Logf("events %d, sent twice %d, by replica %v", len(byEvent), twice, byReplica)
	if twice != 0 || len(bad) != 0 {
		t.Fatalf("%d events sent more than once; %d deliveries did not verify", twice, len(bad))
	}
	for _, name := range []string{"replica-a", "replica-b", "replica-c"} {
		if byReplica[name] == 0 {
			t.Errorf("%s sent nothing: %v", name, byReplica)
		}
	}
}
