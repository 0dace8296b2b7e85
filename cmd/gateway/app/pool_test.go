package app_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestRedisPoolSize: REDIS_POOL_SIZE bounds the connections the gateway
// opens to Redis for its commands and scripts (go-redis keeps up to
// DefaultPipelinePoolSize more for pipelines), and calls beyond it wait
// for one rather than fail.
func TestRedisPoolSize(t *testing.T) {
	const pool, calls = 3, 24
	store := redistest.Start(t)
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), store.URL(), "", map[string]string{
		"REDIS_POOL_SIZE": strconv.Itoa(pool), "JOBS_INTERVAL": "1h", "RECONCILE_INTERVAL": "1h", "WEBHOOK_POLL": "1h"}))
	akinon := gatewaytest.AkinonAt(base)
	var wg sync.WaitGroup
	statuses := make([]int, calls)
	for i := range calls {
		wg.Go(func() {
			statuses[i] = akinon.Post("/start-session", gatewaytest.StartBody("o-pool-"+strconv.Itoa(i))).Status
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("call %d of %d at once: %d", i, calls, st)
		}
	}
	c := store.Client(t)
	info := c.InfoMap(context.Background(), "clients")
	n, _ := strconv.Atoi(info.Item("Clients", "connected_clients"))
	if n--; n < 1 || n > pool+redis.DefaultPipelinePoolSize { // the test's own connection apart
		t.Fatalf("the gateway holds %d connections to Redis, want at most %d + %d\n%s",
			n, pool, redis.DefaultPipelinePoolSize, c.ClientList(context.Background()).Val())
	}
}
