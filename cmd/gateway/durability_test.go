package main

import (
	"bytes"
	"context"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestAnswersWaitForTheReplicas: with REDIS_MIN_REPLICAS=1 no answer rests
// on a write only the master holds. Without a replica to acknowledge it,
// start-session answers 503 store_unavailable (it reaches no processor);
// a refund whose claim no replica acknowledged is given up before the
// bank (503 store_unavailable, the bank untouched), and the same guid runs
// once the replica is back; so is a shopper's card whose claim no replica
// acknowledged: the bank authorises nothing, the card form comes back,
// and the shopper pays once the replica is back.
func TestAnswersWaitForTheReplicas(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.Start(t, redistest.ReplicaOf(master))
	bankSrv := redistest.Start(t)
	redistest.Eventually(t, 10*time.Second, "the replica to sync", func() bool { return connected(t, master) == 1 })
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), master.URL(), "", map[string]string{
		"REDIS_MIN_REPLICAS": "1", "REDIS_REPLICA_TIMEOUT": "200ms", "SANDBOX_REDIS_URL": bankSrv.URL()}))
	bank, _ := books(t, bankSrv.URL())

	_, redirect := gatewaytest.AkinonAt(base).StartSession(t, "o-durable")
	gatewaytest.Shop(redirect, sandbox.CardApproved)
	_, waiting := gatewaytest.AkinonAt(base).StartSession(t, "o-card")
	if code := gatewaytest.AkinonAt(base).Call(t, "/purchase", map[string]any{"guid": "p-durable", "orderId": "o-durable"}, nil); code != http.StatusOK {
		t.Fatalf("purchase with the replica in sync: %d", code)
	}

	replica.Kill()
	redistest.Eventually(t, 10*time.Second, "the master to see its replica gone", func() bool { return connected(t, master) == 0 })
	if a := gatewaytest.AkinonAt(base).Post("/start-session", startBody("start-o-alone", "o-alone")); a.Code() != "store_unavailable" {
		t.Fatalf("start-session with no replica to acknowledge it: %s", a)
	}
	refund := map[string]any{"guid": "r-durable", "orderId": "o-durable", "amount": 10, "currency": "TRY"}
	if a := gatewaytest.AkinonAt(base).Post("/refund", refund); a.Code() != "store_unavailable" {
		t.Fatalf("a refund whose claim no replica acknowledged: %s", a)
	}
	if n := bank.Effects("Refund"); n != 0 {
		t.Fatalf("the bank refunded %d times for a claim that was given up", n)
	}
	authorised := bank.Effects("Authorise")
	if p := gatewaytest.Shop(waiting, sandbox.CardApproved); p.Status != http.StatusServiceUnavailable {
		t.Fatalf("a card whose claim no replica acknowledged: %d", p.Status)
	}
	if n := bank.Effects("Authorise"); n != authorised {
		t.Fatalf("the bank authorised a payment whose claim was given up")
	}

	replica.Restart(t)
	redistest.Eventually(t, 10*time.Second, "the replica to sync again", func() bool { return connected(t, master) == 1 })
	if a := gatewaytest.AkinonAt(base).Post("/refund", refund); a.Status != http.StatusOK {
		t.Fatalf("the same guid once the replica is back: %s", a)
	}
	if n := bank.Effects("Refund"); n != 1 {
		t.Fatalf("the bank refunded %d times, want 1", n)
	}
	if p := gatewaytest.Shop(waiting, sandbox.CardApproved); p.Err != nil || !bytes.Contains(p.Body, []byte(`value="RESOLVED"`)) {
		t.Fatalf("the shopper pays once the replica is back: %d %v", p.Status, p.Err)
	}
	// Nothing given up left money behind: the bank's books and ours agree
	// and nothing is in doubt.
	mustAudit(t, master.URL(), bankSrv.URL(), time.Second)
}

// connected counts the replicas that acknowledge a write within 100 ms:
// in sync, not merely attached.
func connected(t *testing.T, s *redistest.Server) int {
	t.Helper()
	c := s.Client(t)
	ctx := context.Background()
	c.Set(ctx, "sync-probe", time.Now().UnixNano(), time.Minute)
	n, _ := c.Do(ctx, "WAIT", 1, 100).Int()
	return n
}

// TestADemotedMasterIsNotAFailure: a failover demotes the master while a
// write of the gateway's waits for its replicas (WAIT); Redis then
// unblocks the WAIT with an error (UNBLOCKED). The write happened and
// its durability is unknown: the answer is a 503 like any write no
// replica acknowledged, never a 500.
func TestADemotedMasterIsNotAFailure(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.Start(t, redistest.ReplicaOf(master))
	redistest.Eventually(t, 10*time.Second, "the replica to sync", func() bool { return connected(t, master) == 1 })
	base, stop := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), master.URL(), "", map[string]string{
		"REDIS_MIN_REPLICAS": "1", "REDIS_REPLICA_TIMEOUT": "2s", "SANDBOX_REDIS_URL": redistest.Start(t).URL()}))
	replica.Kill()
	redistest.Eventually(t, 10*time.Second, "the master to see its replica gone", func() bool { return connected(t, master) == 0 })

	answered := make(chan gatewaytest.Answer, 1)
	go func() {
		answered <- gatewaytest.AkinonAt(base).Post("/start-session", startBody("start-o-demoted", "o-demoted"))
	}()
	c := master.Client(t)
	ctx := context.Background()
	// The call's write is in (the first EVALSHA on a new server finds no
	// script, and is sent whole after its WAIT) and a write is blocked in
	// WAIT: the call's.
	redistest.Eventually(t, 10*time.Second, "the call's write to wait for a replica", func() bool {
		if keys, _ := c.Keys(ctx, "*o-demoted*").Result(); len(keys) == 0 {
			return false
		}
		list, _ := c.ClientList(ctx).Result()
		for _, l := range strings.Split(list, "\n") {
			if strings.Contains(l, " flags=b ") && strings.Contains(l, " cmd=wait ") {
				return true
			}
		}
		return false
	})
	nowhere := strings.Split(gatewaytest.FreeAddr(t), ":")
	if err := c.Do(ctx, "REPLICAOF", nowhere[0], nowhere[1]).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answered:
		if a.Status != http.StatusServiceUnavailable || a.Code() != "store_unavailable" {
			t.Fatalf("start-session whose master was demoted while it waited: %s", a)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no gatewaytest.Answer within 3 s: the demotion did not end the wait")
	}
	// Promoted again, for the gateway's own shutdown.
	if err := c.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
