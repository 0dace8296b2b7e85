package webhook_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/extension/openapicheck"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestDeadLetterIsReplayedByTheOperator runs a gateway whose merchant's
// webhook endpoint refuses every attempt: the event becomes a dead letter
// the operator endpoints show, and replaying it once the receiver
// recovers delivers it.
func TestDeadLetterIsReplayedByTheOperator(t *testing.T) {
	rcv := mustReceiver(t, func(int, delivery) int { return http.StatusServiceUnavailable })
	g := gatewaytest.Start(t, gatewaytest.Env(gatewaytest.FreeAddr(t), redistest.Start(t).URL(), rcv.URL, map[string]string{
		"WEBHOOK_RETRY_SCHEDULE": "0s,30ms,30ms", "ADMIN_USERNAME": "operator", "ADMIN_PASSWORD": "operator-password"}))
	_, redirect := gatewaytest.AkinonAt(g.Base).StartSession(t, "o-dead")
	gatewaytest.MustShop(t, redirect, sandbox.CardApproved)
	op := gatewaytest.Operator{Base: g.Base, User: "operator", Password: "operator-password"}

	var dead struct {
		DeadLetters []struct {
			EventID, State, OrderID string
			Attempts                int
		}
	}
	redistest.Eventually(t, 5*time.Second, "a dead letter", func() bool {
		op.Call(t, http.MethodGet, "/admin/webhooks/dead", &dead)
		return len(dead.DeadLetters) == 1
	})
	d := dead.DeadLetters[0]
	if d.State != "dead" || d.Attempts != 3 || d.OrderID != "o-dead" {
		t.Fatalf("dead letter = %+v, want state dead after 3 attempts of o-dead", d)
	}
	if n := len(rcv.deliveries()); n != 3 {
		t.Fatalf("receiver got %d attempts, want the schedule's 3", n)
	}
	stranger := gatewaytest.Operator{Base: g.Base, User: op.User, Password: "wrong"}
	if code := stranger.Call(t, http.MethodGet, "/admin/webhooks/dead", nil); code != http.StatusUnauthorized {
		t.Fatalf("wrong operator password: %d", code)
	}

	var detail struct {
		EventID    string
		Body       map[string]any
		AttemptLog []struct {
			N       int
			Status  int
			Outcome string
		}
	}
	op.Call(t, http.MethodGet, "/admin/webhooks/events/"+d.EventID, &detail)
	if len(detail.AttemptLog) != 3 || detail.AttemptLog[2].Outcome != "dead" || detail.AttemptLog[0].Status != 503 || detail.Body["orderId"] != "o-dead" {
		t.Fatalf("event detail = %+v", detail)
	}

	// The receiver recovers; the operator replays the dead letter.
	rcv.setAnswer(func(int, delivery) int { return http.StatusOK })
	if code := op.Call(t, http.MethodPost, "/admin/webhooks/events/"+d.EventID+"/replay", nil); code != http.StatusAccepted {
		t.Fatalf("replay: %d", code)
	}
	redistest.Eventually(t, 5*time.Second, "the replayed delivery", func() bool { return len(rcv.deliveries()) == 4 })
	last := rcv.deliveries()[3]
	if last.eventID != d.EventID || !last.hashOK || last.sigErr != nil {
		t.Fatalf("replayed delivery: id %s hash %v sig %v", last.eventID, last.hashOK, last.sigErr)
	}
	var stats struct {
		OutboxDepth, DeadLetters int
	}
	redistest.Eventually(t, 5*time.Second, "an empty outbox", func() bool {
		op.Call(t, http.MethodGet, "/admin/webhooks/stats", &stats)
		return stats.OutboxDepth == 0 && stats.DeadLetters == 0
	})
	// Replaying what is not parked is refused.
	if code := op.Call(t, http.MethodPost, "/admin/webhooks/events/"+d.EventID+"/replay", nil); code != http.StatusConflict {
		t.Fatalf("replay of a delivered event: %d, want 409", code)
	}
	if code := op.Call(t, http.MethodGet, "/admin/webhooks/events/"+strings.Repeat("0", 8), nil); code != http.StatusNotFound {
		t.Fatalf("unknown event: %d, want 404", code)
	}
	if c, err := openapicheck.Shared(); err == nil {
		t.Log("openapi.json:", c.Stats())
	}
}
