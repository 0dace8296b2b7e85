package main

import (
	"context"
	"encoding/json"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestAnEvictingRedisIsRefused: a Redis that may evict keys forgets guids
// (a retried refund runs again) and orders (a paid order answers 404).
// The gateway refuses to start on one and -check-config refuses it, with
// a message that names the setting.
func TestAnEvictingRedisIsRefused(t *testing.T) {
	srv := redistest.Start(t)
	for _, policy := range []string{"volatile-lru", "allkeys-lru", "allkeys-lfu", "volatile-ttl", "allkeys-random"} {
		t.Run(policy, func(t *testing.T) {
			if err := srv.Client(t).ConfigSet(context.Background(), "maxmemory-policy", policy).Err(); err != nil {
				t.Fatal(err)
			}
			env := gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), "", nil)
			for _, args := range [][]string{nil, {"-check-config"}} {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := gatewaytest.Exec(ctx, args, env)
				cancel()
				if err == nil || !strings.Contains(err.Error(), "maxmemory-policy") || !strings.Contains(err.Error(), policy) {
					t.Fatalf("run %v on maxmemory-policy %s = %v; want a refusal naming the setting", args, policy, err)
				}
			}
		})
	}
	if err := srv.Client(t).ConfigSet(context.Background(), "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := gatewaytest.Exec(context.Background(), []string{"-check-config"}, gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), "", nil)); err != nil {
		t.Fatalf("-check-config on noeviction: %v", err)
	}
}

// TestUnwaitedReplicasAreRefused: a master with a replica under
// REDIS_MIN_REPLICAS=0 answers before any replica holds the write, so a
// failover can lose answers; -check-config refuses it, naming the
// setting, and passes with REDIS_MIN_REPLICAS=1.
func TestUnwaitedReplicasAreRefused(t *testing.T) {
	redistest.RequireServer(t, "a replica")
	master := redistest.Start(t)
	redistest.Start(t, redistest.ReplicaOf(master))
	redistest.Eventually(t, 20*time.Second, "the replica to connect", func() bool { return connected(t, master) == 1 })
	env := gatewaytest.Env(gatewaytest.FreeAddr(t), master.URL(), "", nil)
	err := gatewaytest.Exec(context.Background(), []string{"-check-config"}, env)
	if err == nil || !strings.Contains(err.Error(), "REDIS_MIN_REPLICAS=1") {
		t.Fatalf("-check-config with a replica and REDIS_MIN_REPLICAS=0 = %v; want a refusal naming the setting", err)
	}
	env["REDIS_MIN_REPLICAS"] = "1"
	if err := gatewaytest.Exec(context.Background(), []string{"-check-config"}, env); err != nil {
		t.Fatalf("-check-config with REDIS_MIN_REPLICAS=1: %v", err)
	}
}

// TestReadyzProvesTheStoreIsSafe: /readyz answers from a check made every
// READY_INTERVAL that writes to every shard and reads the eviction
// policy. It turns 503 within the interval when the policy is changed
// under a running gateway or Redis refuses writes, and 200 again when
// that is undone.
func TestReadyzProvesTheStoreIsSafe(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	const interval = 100 * time.Millisecond
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), "", map[string]string{"READY_INTERVAL": interval.String()}))
	var body readyBody
	ready := func() int {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(raw), srv.Addr) {
			t.Fatalf("/readyz shows the store's address: %s", raw)
		}
		body = readyBody{}
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("/readyz: %v: %s", err, raw)
		}
		return resp.StatusCode
	}
	within := func(what string, want int, change func()) time.Duration {
		t.Helper()
		change()
		start := time.Now()
		redistest.Eventually(t, 10*interval, what, func() bool { return ready() == want })
		return time.Since(start)
	}
	if ready() != http.StatusOK || body.Reason != "" {
		t.Fatalf("/readyz on a sound Redis: %+v", body)
	}
	ctx := context.Background()
	tests := []struct {
		name          string
		break_, mend_ func()
		reason        string
	}{
		{"maxmemory-policy set to allkeys-lru",
			func() { rdb.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru") },
			func() { rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction") },
			"the store may evict keys: Redis must run with maxmemory-policy noeviction"},
		{"every write refused (out of memory)",
			func() { rdb.ConfigSet(ctx, "maxmemory", "1") },
			func() { rdb.ConfigSet(ctx, "maxmemory", "0") },
			"the store refuses writes: Redis is at maxmemory"},
	}
	for _, tt := range tests {
		took := within(tt.name+": /readyz 503", http.StatusServiceUnavailable, tt.break_)
		if body.Status != "unavailable" || body.Reason != tt.reason {
			t.Errorf("%s: /readyz body %+v, want the reason %q", tt.name, body, tt.reason)
		}
		t.Logf("%s: /readyz 503 after %s: %+v", tt.name, took.Round(time.Millisecond), body)
		took = within(tt.name+" undone: /readyz 200", http.StatusOK, tt.mend_)
		t.Logf("%s undone: /readyz 200 after %s", tt.name, took.Round(time.Millisecond))
	}
}

// readyBody is /readyz's answer.
type readyBody struct {
	Status   string
	Reason   string
	Warnings []string
}
