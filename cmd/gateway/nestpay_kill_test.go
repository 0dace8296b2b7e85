package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/audit"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybank"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybanktest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestKilledWithNestPay: the gateway process, whose merchant pays through
// the fake NestPay bank, is SIGKILLed three times while calls are at the
// bank: the shoppers' returns (the provision), Akinon's purchases
// (PostAuth) and its refunds (Credit). The bank answers slowly and still
// acts for a caller that is gone. After each restart the reconciler asks
// the bank (the order-status query) and settles what was in doubt; at the
// end the ledger audit against the bank's books finds no difference.
func TestKilledWithNestPay(t *testing.T) {
	t.Parallel() // it waits on leases and restarts more than it works
	const orders = 12
	store, bankSrv := redistest.Start(t, redistest.Durable()), redistest.Start(t, redistest.Durable())
	bank, section := nestpayBank(t, bankSrv.URL())
	gw := gatewaytest.StartProcess(t, faultEnv(t, store.URL(), bankSrv.URL(), "", map[string]string{
		"MERCHANTS_FILE": gatewaytest.MerchantsFile(t, section),
		// The bank's 2s answer fits in one call; the lease outlasts three
		// of them and the final write.
		"PROCESSOR_TIMEOUT": "3s",
		"REQUEST_LEASE":     "10s",
	}))
	books := nestpayBooks(t, bankSrv.URL())
	st := storeAt(t, store.URL(), 1)
	ctx := context.Background()
	const settle = 10*time.Second + time.Second + 200*time.Millisecond + 20*time.Second

	// The shoppers: each at the bank, its return form in hand.
	type shopper struct {
		order, sid string
		back       htmlForm
	}
	shoppers := make([]shopper, orders)
	for i := range shoppers {
		card, code := nestpaybank.CardFrictionless, ""
		switch i % 4 {
		case 1:
			card, code = nestpaybank.CardChallenge, nestpaybank.ChallengeCode
		case 3:
			card = nestpaybank.CardDeclined
		}
		order := "npk-" + strconv.Itoa(i)
		sid, redirect := gatewaytest.AkinonAt(gw.Base).StartSession(t, order)
		_, back := toNestPay(t, gw.Base, redirect, card, code)
		shoppers[i] = shopper{order, sid, back}
	}

	// killDuring fires every call at once against a slow bank, SIGKILLs
	// the gateway once half of them are held in doubt, restarts it and
	// waits until the reconciler has settled everything.
	kills := 0
	killDuring := func(what string, calls []func() error) {
		t.Helper()
		bank.SetFaults(t, nestpaybanktest.Faults{Slow: 2 * time.Second})
		errs := make([]error, len(calls))
		var wg sync.WaitGroup
		for i, call := range calls {
			wg.Go(func() { errs[i] = call() })
		}
		held := 0
		redistest.Eventually(t, 10*time.Second, what+" to be at the bank", func() bool {
			ds, err := st.Doubts(ctx)
			held = len(ds)
			return err == nil && held >= (len(calls)+1)/2
		})
		gw.Kill()
		kills++
		wg.Wait()
		bank.SetFaults(t, nestpaybanktest.Faults{})
		gw.Restart()
		cut := 0
		for _, err := range errs {
			if err != nil {
				cut++
			}
		}
		took := waitSettled(t, store.URL(), settle)
		t.Logf("kill %d during %d %s: %d in doubt at the kill, %d calls cut; settled %s after the restart",
			kills, len(calls), what, held, cut, took.Round(time.Millisecond))
	}
	post := func(f htmlForm) error {
		resp, err := (&http.Client{Timeout: 20 * time.Second}).PostForm(f.Action, f.Fields)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	op := func(path string, body map[string]any) error {
		a := gatewaytest.AkinonAt(gw.Base).PostRaw(path, mustMarshal(t, body))
		return a.Err
	}

	var returns []func() error
	for _, s := range shoppers {
		returns = append(returns, func() error { return post(s.back) })
	}
	killDuring("returns (provision)", returns)

	authorised := func() []shopper {
		var out []shopper
		for _, s := range shoppers {
			if a, err := books.Account(ctx, provider.PaymentReference(s.sid)); err == nil && a.State == "authorised" && a.Captured == 0 {
				out = append(out, s)
			}
		}
		return out
	}
	var purchases []func() error
	for _, s := range authorised() {
		purchases = append(purchases, func() error {
			return op("/purchase", map[string]any{"version": "1", "guid": "p-" + s.order, "orderId": s.order})
		})
	}
	if len(purchases) == 0 {
		t.Fatal("no payment was authorised at the bank: nothing to purchase")
	}
	killDuring("purchases (PostAuth)", purchases)

	captured := func() []shopper {
		var out []shopper
		for _, s := range shoppers {
			if a, _ := books.Account(ctx, provider.PaymentReference(s.sid)); a.Captured > 0 {
				out = append(out, s)
			}
		}
		return out
	}
	if len(captured()) == 0 {
		// The kill came before any PostAuth reached the bank, and the
		// reconciler released them all as not received: Akinon purchases
		// again, with new guids, for the refunds to have something to take.
		again := authorised()
		for _, s := range again {
			if err := op("/purchase", map[string]any{"version": "1", "guid": "p2-" + s.order, "orderId": s.order}); err != nil {
				t.Fatalf("purchase again of %s: %v", s.order, err)
			}
		}
		t.Logf("no PostAuth had reached the bank at the kill; %d purchased again with new guids", len(again))
	}
	var refunds []func() error
	for _, s := range captured() {
		refunds = append(refunds, func() error {
			return op("/refund", map[string]any{"version": "1", "guid": "r-" + s.order, "orderId": s.order,
				"amount": 20.5, "currency": "TRY"})
		})
	}
	if len(refunds) == 0 {
		t.Fatal("no purchase was captured at the bank: nothing to refund")
	}
	killDuring("refunds (Credit)", refunds)

	byInquiry := map[provider.Action]int{}
	phases := map[provider.Phase]int{}
	for _, s := range shoppers {
		sess, err := st.Order(ctx, "shop-0", s.order)
		if err != nil {
			t.Fatal(err)
		}
		phases[sess.Phase]++
		steps, err := st.Steps(ctx, "shop-0", s.order)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range steps {
			for _, sub := range step.SubSteps {
				if strings.HasPrefix(sub.StatusDetail, "settled by inquiry") {
					byInquiry[step.Type]++
				}
			}
		}
	}
	rep, err := audit.Run(ctx, st, books, time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders, %d kills; sessions by phase %v; settled by inquiry %v; audit: %d orders, %d payments at the bank, %d operations, %d differences",
		orders, kills, phases, byInquiry, rep.Orders, rep.Payments, rep.Operations, len(rep.Differences))
	if len(rep.Differences) > 0 {
		t.Fatalf("the ledger audit found differences:\n%v", rep.Differences)
	}
	if len(byInquiry) == 0 {
		t.Error("nothing was settled by inquiry: the kills hit no call at the bank")
	}
}
