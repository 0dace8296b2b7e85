package observe_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/app"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

// TestOperatorCallsAreCounted: the operator's reads and actions go
// through the gateway's service to the store it was built with, the
// metrics wrapper: with Redis gone, each one fails and gateway_store_errors_total
// counts it under its call, as the console's and the webhook admin's
// failures are counted in production.
func TestOperatorCallsAreCounted(t *testing.T) {
	redistest.RequireServer(t, "kills its server")
	srv := redistest.Start(t)
	// The client gives up at once on a dead server; the background work
	// waits an hour, so only the calls below touch the store once it is gone.
	g := gatewaytest.Start(t, gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), "", map[string]string{"ADMIN_ADDR": gatewaytest.FreeAddr(t),
		"JOBS_INTERVAL": "1h", "RECONCILE_INTERVAL": "1h", "READY_INTERVAL": "1h", "WEBHOOK_POLL": "1h"}),
		app.WithRedisOptions(func(o *redis.UniversalOptions) {
			o.MaxRetries, o.DialTimeout, o.DialerRetries, o.DialerRetryTimeout = -1, 200*time.Millisecond, 1, time.Millisecond
		}))
	svc := g.Service
	srv.Kill()

	ctx, now := context.Background(), time.Now()
	calls := []struct {
		call string
		do   func() error
	}{
		{"order", func() error { _, err := svc.Order(ctx, "m", "o"); return err }},
		{"steps", func() error { _, err := svc.Steps(ctx, "m", "o"); return err }},
		{"order_events", func() error { _, err := svc.OrderEvents(ctx, "m", "o"); return err }},
		{"order_of_guid", func() error {
			_, err := svc.FindOrders(ctx, provider.OrderQuery{Merchants: []string{"m"}, GUID: "g"})
			return err
		}},
		{"dead_letters", func() error { _, err := svc.DeadLetters(ctx, 10); return err }},
		{"event", func() error { _, _, err := svc.Event(ctx, "e"); return err }},
		{"replay_event", func() error { _, err := svc.ReplayEvent(ctx, "e", now); return err }},
		{"replay_dead", func() error { _, err := svc.ReplayDead(ctx, now); return err }},
		{"outbox_stats", func() error { _, err := svc.OutboxStats(ctx, now); return err }},
	}
	for _, c := range calls {
		if err := c.do(); err == nil {
			t.Errorf("%s answered with Redis gone", c.call)
		}
	}
	rec := httptest.NewRecorder()
	g.Admin.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	scraped, _ := io.ReadAll(rec.Body)
	for _, c := range calls {
		if !strings.Contains(string(scraped), `gateway_store_errors_total{call="`+c.call+`",kind="unavailable"} 1`) {
			t.Errorf("%s's failure is not counted as unavailable", c.call)
		}
	}
}
