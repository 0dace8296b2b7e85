package main

import (
	"context"
	"fmt"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestTheStoreFailsAfterTheBankActed: 200 refunds run at once on 20
// purchased orders; every one is reserved and at the bank when the
// gateway's Redis fails. No answer says store_unavailable (whose promise
// is that nothing reached the bank).
//
//   - Out of memory: Redis refuses new work, but the settlement of work
//     already at the bank still gets in (its script writes first with a
//     removal, which a full Redis allows, and Redis lets a script that has
//     written finish), so every refund answers its result; a new refund is
//     refused before the bank, truthfully, with store_unavailable.
//   - Redis stops: nothing can be stored, so each refund answers
//     outcome_unknown. While they are in doubt their reservations count,
//     so a new guid cannot refund the same money again; the reconciler
//     settles them from the bank's books.
//
// Either way the audit finds nothing, and every guid answers its settled
// refund.
func TestTheStoreFailsAfterTheBankActed(t *testing.T) {
	t.Parallel() // it waits on leases and restarts more than it works
	const orders, perOrder = 20, 10
	tests := []struct {
		fault       string
		fail, mend  func(t *testing.T, srv *redistest.Server)
		wantUnknown bool
	}{
		{"out of memory",
			func(t *testing.T, srv *redistest.Server) {
				srv.Client(t).ConfigSet(context.Background(), "maxmemory", "1")
			},
			func(t *testing.T, srv *redistest.Server) {
				srv.Client(t).ConfigSet(context.Background(), "maxmemory", "0")
			},
			false},
		{"redis stops",
			func(t *testing.T, srv *redistest.Server) { srv.Kill() },
			func(t *testing.T, srv *redistest.Server) { srv.Restart(t) },
			true},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			store, bankSrv := redistest.Start(t, redistest.Durable()), redistest.Start(t)
			env := faultEnv(t, store.URL(), bankSrv.URL(), "", map[string]string{
				"REQUEST_LEASE": "8s", "PROCESSOR_TIMEOUT": "2s", "FINISH_RETRY": "1s"})
			gw := gatewaytest.StartProcess(t, env)
			bank, _ := books(t, bankSrv.URL())
			order := func(i int) string { return fmt.Sprintf("o-store-%d", i) }
			for i := range orders {
				_, redirect := gatewaytest.AkinonAt(gw.Base).StartSession(t, order(i)) // 120.50
				gatewaytest.Shop(redirect, sandbox.CardApproved)
				gatewaytest.AkinonAt(gw.Base).Call(t, "/purchase", map[string]any{"guid": "p-" + order(i), "orderId": order(i)}, nil)
			}

			// The bank's answers now take 1.5 s: time for the store to fail
			// after every refund is reserved and at the bank.
			gw.Setenv("SANDBOX_LATENCY", "1500ms")
			gw.Restart()
			refund := func(i, n int) map[string]any {
				return map[string]any{"guid": fmt.Sprintf("r-%d-%d", i, n), "orderId": order(i), "amount": 10, "currency": "TRY"}
			}
			answers := make([]gatewaytest.Answer, orders*perOrder)
			var wg sync.WaitGroup
			for k := range answers {
				wg.Go(func() { answers[k] = gatewaytest.AkinonAt(gw.Base).Post("/refund", refund(k/perOrder, k%perOrder)) })
			}
			ctx := context.Background()
			redistest.Eventually(t, 10*time.Second, "every refund to be at the bank", func() bool {
				return bank.Effects("Refund") == orders*perOrder
			})
			tt.fail(t, store)
			wg.Wait()
			failed := time.Now()
			counts := map[string]int{}
			for k, a := range answers {
				switch {
				case a.Code() == "store_unavailable":
					t.Errorf("refund %d answered store_unavailable although the bank had it: %s", k, a)
				case a.Code() == "outcome_unknown" && a.Status == http.StatusServiceUnavailable:
					counts["outcome_unknown"]++
				case a.Status == http.StatusOK:
					counts["200"]++
				default:
					t.Errorf("refund %d: %s", k, a)
				}
			}
			t.Logf("%s with %d refunds at the bank: %v", tt.fault, len(answers), counts)
			if tt.wantUnknown && counts["outcome_unknown"] != len(answers) || !tt.wantUnknown && counts["200"] != len(answers) {
				t.Fatalf("answers %v", counts)
			}

			if tt.fault == "out of memory" {
				if a := gatewaytest.AkinonAt(gw.Base).Post("/refund", map[string]any{"guid": "r-while-failed", "orderId": order(0), "amount": 1, "currency": "TRY"}); a.Code() != "store_unavailable" {
					t.Fatalf("a new refund while Redis is full: %s", a)
				}
				mem, _ := store.Client(t).Info(ctx, "memory").Result()
				used, _, _ := strings.Cut(mem[strings.Index(mem, "used_memory_human:")+len("used_memory_human:"):], "\r")
				t.Logf("used memory while full: %s (maxmemory 1 byte)", used)
			}
			tt.mend(t, store)
			redistest.Eventually(t, 10*time.Second, "the gateway to be ready again", func() bool { return page(gw.Base+"/readyz").Status == http.StatusOK })
			if tt.wantUnknown {
				// 100.00 of 120.50 is in doubt: a new guid asking for 20.51
				// would refund money already given back.
				if a := gatewaytest.AkinonAt(gw.Base).Post("/refund", map[string]any{"guid": "r-again", "orderId": order(0), "amount": 20.51, "currency": "TRY"}); a.Code() != "amount_exceeds_balance" {
					t.Fatalf("a new guid for more than is left beside the refunds in doubt: %s", a)
				}
			}
			waitSettled(t, store.URL(), 8*time.Second+settleWithin)
			t.Logf("settled %s after the store failed", time.Since(failed).Round(time.Millisecond))
			if n := bank.Effects("Refund"); n != orders*perOrder {
				t.Fatalf("the bank refunded %d, want %d", n, orders*perOrder)
			}
			rep := mustAudit(t, store.URL(), bankSrv.URL(), time.Second)
			t.Logf("audit: %d orders, %d operations, 0 differences", rep.Orders, rep.Operations)
			for k := range answers {
				a := gatewaytest.AkinonAt(gw.Base).Post("/refund", refund(k/perOrder, k%perOrder))
				if a.Status != http.StatusOK || a.Header.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("refund %d retried with its guid: %s", k, a)
				}
				if answers[k].Status == http.StatusOK && string(a.Body) != string(answers[k].Body) {
					t.Fatalf("refund %d answered %s, its retry %s", k, answers[k].Body, a.Body)
				}
			}
		})
	}
}
