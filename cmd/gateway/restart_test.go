package main

import (
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestKilledGatewayDeliversEverythingAfterRestart: events are due, the
// gateway is sending them to a receiver that is failing, and it is killed
// with SIGKILL mid-way. A new process on the same Redis delivers every
// event once the receiver recovers: the outbox and the claims' leases
// live in Redis, not in the process.
func TestKilledGatewayDeliversEverythingAfterRestart(t *testing.T) {
	t.Parallel() // it waits on leases and restarts more than it works
	const events = 40
	srv := redistest.Start(t, redistest.Durable())
	h := mustHook(t, false)
	h.delay = 2 * time.Second // longer than the timeout: attempts hang when the kill comes
	mustDueEvents(t, srv.URL(), h.URL, events)
	start := time.Now()
	env := gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), h.URL, map[string]string{
		"WEBHOOK_TIMEOUT":        "1s", // a claim's lease is 2×timeout+5s
		"WEBHOOK_RETRY_SCHEDULE": "0s,1s,1s,1s,1s,1s,1s,1s,1s",
		"LOG_LEVEL":              "error",
	})

	gw := gatewaytest.StartProcess(t, env)
	redistest.Eventually(t, 10*time.Second, "attempts to be in flight", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.bad) == 0 && srv.Client(t).ZCount(t.Context(), "gw:{0}:wh:due", "("+itoa(time.Now().Add(3*time.Second).UnixMilli()), "+inf").Val() > 0
	})
	t.Logf("attempts in flight after %s; SIGKILL", time.Since(start).Round(time.Millisecond))
	gw.Kill()
	if byEvent, _, _ := h.accepted(); len(byEvent) != 0 {
		t.Fatalf("the failing receiver accepted %d events", len(byEvent))
	}

	h.mu.Lock()
	h.accept, h.delay = true, 0
	h.mu.Unlock()
	gw.Restart()
	redistest.Eventually(t, 30*time.Second, "every event delivered after the restart", func() bool {
		byEvent, _, _ := h.accepted()
		return len(byEvent) == events
	})
	t.Logf("all %d delivered %s after the start", events, time.Since(start).Round(time.Millisecond))
	if _, _, bad := h.accepted(); len(bad) != 0 {
		t.Fatalf("deliveries that did not verify: %v", bad)
	}
}
