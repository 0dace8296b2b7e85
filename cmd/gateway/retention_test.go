package main

import (
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// mustLiveForever are the only keys without a TTL once everything is
// settled and delivered: per-shard work lists whose members are removed
// as the work is done (and which Redis drops when they empty).
var mustLiveForever = regexp.MustCompile(`^gw:\{\d+\}:(sched:expiry|sched:pending|wh:due|wh:dead|doubt)$`)

// TestEveryKeyExpires: after flows of every kind (a sale purchased and
// refunded, an auth voided, a decline, a pending payment resolved, a 3-D
// Secure payment, an unpaid session expired, a session replaced, a
// refusal stored), with everything settled and every webhook delivered,
// no key in Redis lives forever but the per-shard work lists: sessions,
// histories and session indexes expire ORDER_RETENTION after an order's
// latest change, guid replies after IDEMPOTENCY_TTL, delivered events
// after 7 days, the bank's books after SANDBOX_RETENTION. It measures
// what one order costs.
func TestEveryKeyExpires(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	h := mustHook(t, true)
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), h.URL, map[string]string{
		"SESSION_TTL": "1s", "SANDBOX_PENDING_DELAY": "200ms", "ORDER_RETENTION": "48h"}))

	sid, redirect := gatewaytest.AkinonAt(base).StartSession(t, "o-sale")
	if ttl := rdb.PTTL(ctx, "gw:{0}:o:default:o-sale").Val(); ttl <= 47*time.Hour || ttl > 48*time.Hour {
		t.Fatalf("a new session's TTL is %s, want ORDER_RETENTION (48h)", ttl)
	}
	if p := string(gatewaytest.MustShop(t, redirect, sandbox.CardApproved).Body); !strings.Contains(p, `value="RESOLVED"`) {
		t.Fatal("the sale was not paid")
	}
	gatewaytest.AkinonAt(base).Call(t, "/purchase", map[string]any{"guid": "p-sale", "orderId": "o-sale"}, nil)
	gatewaytest.AkinonAt(base).Call(t, "/refund", map[string]any{"guid": "r-sale", "orderId": "o-sale", "amount": 20, "currency": "TRY"}, nil)
	gatewaytest.AkinonAt(base).Call(t, "/history", map[string]any{"guid": "h-sale", "orderId": "o-sale"}, nil)
	for order, card := range map[string]string{"o-decline": sandbox.CardDeclined, "o-pending": sandbox.CardPendingOK, "o-void": sandbox.CardApproved} {
		_, r := gatewaytest.AkinonAt(base).StartSession(t, order)
		gatewaytest.MustShop(t, r, card)
	}
	gatewaytest.AkinonAt(base).Call(t, "/void", map[string]any{"guid": "v-void", "orderId": "o-void"}, nil)
	_, r3 := gatewaytest.AkinonAt(base).StartSession(t, "o-3ds")
	if p := string(gatewaytest.ShopThreeDS(t, r3).Body); !strings.Contains(p, `value="RESOLVED"`) {
		t.Fatalf("the 3-D Secure payment:\n%s", p)
	}
	gatewaytest.AkinonAt(base).StartSession(t, "o-expired")
	gatewaytest.AkinonAt(base).StartSession(t, "o-replaced")
	gatewaytest.AkinonAt(base).Call(t, "/start-session", map[string]any{"version": "1", "guid": "start-o-replaced-2", "orderId": "o-replaced", "orderAmount": 10,
		"locale": "en", "returnUrl": "http://127.0.0.1:9/return", "type": "SALE", "currency": "TRY",
		"customer": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}}, nil)
	if code := gatewaytest.AkinonAt(base).Call(t, "/purchase", map[string]any{"guid": "p-refused", "orderId": "o-decline"}, nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("purchase of a declined order: %d", code)
	}

	// Settled: the pending payment resolved, the unpaid sessions expired,
	// every webhook delivered (sale, decline, void's payment, pending,
	// 3-D Secure, two expiries).
	redistest.Eventually(t, 20*time.Second, "every event delivered and nothing due", func() bool {
		byEvent, _, _ := h.accepted()
		return len(byEvent) >= 7 && rdb.ZCard(ctx, "gw:{0}:wh:due").Val() == 0 &&
			rdb.ZCard(ctx, "gw:{0}:sched:pending").Val() == 0 && rdb.ZCard(ctx, "gw:{0}:doubt").Val() == 0
	})

	var forever, all []string
	for _, k := range rdb.Keys(ctx, "*").Val() {
		all = append(all, k)
		switch ttl := rdb.PTTL(ctx, k).Val(); {
		case ttl == -1 && !mustLiveForever.MatchString(k):
			forever = append(forever, k)
		case ttl > 48*time.Hour && strings.Contains(k, ":o:"):
			t.Errorf("%s lives %s, longer than ORDER_RETENTION", k, ttl)
		}
	}
	sort.Strings(forever)
	if len(forever) > 0 {
		t.Fatalf("keys without a TTL that need not live forever:\n%s", strings.Join(forever, "\n"))
	}
	t.Logf("%d keys, none without a TTL but the work lists", len(all))

	// What one order costs: a sale paid, purchased, refunded, its history
	// read, its webhook delivered.
	var orderBytes, guidBytes, eventBytes, bankBytes int64
	usage := func(k string) int64 { return rdb.MemoryUsage(ctx, k).Val() }
	orderBytes += usage("gw:{0}:o:default:o-sale") + usage("gw:{0}:h:default:o-sale") + usage("gw:{0}:x:"+sid) + usage("gw:{0}:g:default:o-sale") +
		usage("gw:{0}:wh:o:default:o-sale")
	for _, g := range []string{"start-o-sale", "p-sale", "r-sale", "h-sale"} {
		guidBytes += usage("gw:{0}:i:default:" + g)
	}
	byEvent, _, _ := h.accepted()
	for id := range byEvent {
		if b, _ := h.body(id); b.SessionID == sid {
			eventBytes += usage("gw:{0}:wh:e:"+id) + usage("gw:{0}:wh:a:"+id)
		}
	}
	for _, k := range rdb.Keys(ctx, "sbx:*").Val() {
		if strings.Contains(k, ":p") || strings.Contains(k, ":l") || strings.Contains(k, ":r:") {
			bankBytes += usage(k)
		}
	}
	t.Logf("one order (sale, purchase, refund, history): session+history+index+settled guids+event index %d B, 4 guid replies %d B, its webhook %d B (7 days), total %d B; the sandbox's books for all %d payments %d B",
		orderBytes, guidBytes, eventBytes, orderBytes+guidBytes+eventBytes, 6, bankBytes)
}
