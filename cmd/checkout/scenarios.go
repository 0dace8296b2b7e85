package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
)

// The sandbox's test cards (CONTRACT.md, provider/processors/sandbox), as a shopper
// types them.
const (
	cardApproved     = "4242 4242 4242 4242"
	cardInstallments = "5528 7900 0000 0008"
	cardThreeDS      = "4000 0027 6000 3184"
	cardFrictionless = "4000 0000 0000 3220"
	cardDeclined     = "4000 0000 0000 0002"
	cardFraud        = "4100 0000 0000 0019"
	cardPendingOK    = "4000 0000 0000 9235"
	cardPendingRisky = "4000 0000 0000 4954"
	cardTransient    = "4000 0000 0000 0119"
	threeDSCode      = "123456"
)

// Statuses and sub-statuses, as Akinon reads them.
const (
	resolved        = commerce.StatusResolved
	rejected        = commerce.StatusRejected
	pending         = commerce.StatusPending
	subResolved     = "RESOLVED"
	processingError = "PROCESSING_ERROR"
	risky           = "RISKY"
	paymentWaiting  = "PAYMENT_WAITING"
)

func allScenarios() []scenario {
	return []scenario{
		{"sale", "SALE paid by card and purchased; thank-you page; history", runSale},
		{"auth-partial-capture", "AUTH in 3 installments (TRY), 100.00 of 150.00 captured", runAuthPartialCapture},
		{"decline", "declined card: REJECTED/PROCESSING_ERROR, no purchase; then paid with another card", runDecline},
		{"fraud", "fraud card: REJECTED/RISKY, no purchase", runFraud},
		{"3ds-pass", "3-D Secure with the right code: RESOLVED and purchased", run3DSPass},
		{"3ds-fail", "3-D Secure with a wrong code: REJECTED/PROCESSING_ERROR", run3DSFail},
		{"3ds-abandoned", "3-D Secure left unanswered at the bank's ACS: the session expires at SESSION_TTL, a REJECTED webhook", run3DSAbandoned},
		{"3ds-frictionless", "3-D Secure without a challenge: through the bank's ACS and back, RESOLVED", run3DSFrictionless},
		{"transient", "processor fails twice then approves: three sub-steps in history", runTransient},
		{"pending-webhook", "PENDING on return, then a signed webhook RESOLVED; purchased after it", runPendingResolved},
		{"pending-webhook-risky", "PENDING on return, then a signed webhook REJECTED/RISKY", runPendingRisky},
		{"refund", "partial then full refund; a refund beyond the balance is refused", runRefund},
		{"void", "void of an authorisation and of a purchase; nothing after but history", runVoid},
		{"history-filters", "history filtered by type, transactionId, status, subStatus", runHistoryFilters},
		{"replay-same-guid", "the same guid and body again: same bytes, Idempotent-Replayed, no second effect", runReplaySameGUID},
		{"guid-reused", "the same guid with another body or endpoint: 422 idempotency_key_reused", runGUIDReused},
	}
}

// pickScenarios resolves -scenarios.
func pickScenarios(names []string) ([]scenario, error) {
	all := allScenarios()
	if len(names) == 1 && names[0] == "all" {
		return all, nil
	}
	byName := map[string]scenario{}
	var known []string
	for _, s := range all {
		byName[s.name] = s
		known = append(known, s.name)
	}
	var out []scenario
	for _, n := range names {
		s, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", n, strings.Join(known, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// paidAndPurchased runs a plain SALE and checks it, for the scenarios
// about what comes after.
func paidAndPurchased(ctx context.Context, sc *scene, amount string) (*commerce.Order, error) {
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount(amount), Type: commerce.Sale},
		Payment{CardNumber: cardApproved})
	if err != nil {
		return o, err
	}
	sc.expectReturn(o, resolved, subResolved)
	sc.expectPurchased(o)
	sc.expectThankYou(o, v)
	if o.View().Status != commerce.OrderCompleted {
		return o, fmt.Errorf("order %s is %s, not completed: the rest cannot run", o.Number, o.View().Status)
	}
	return o, nil
}

func runSale(ctx context.Context, sc *scene) error {
	o, err := paidAndPurchased(ctx, sc, "100.00")
	if err != nil {
		return err
	}
	r := o.View().Return
	sc.expect("return amount", r.Fields["amount"], "100.00")
	sc.expect("return installment", r.Fields["installment"], "1")
	sc.expect("return currency", r.Fields["currency"], "TRY")
	h, err := sc.history(ctx, o, commerce.HistoryRequest{})
	if err != nil {
		return err
	}
	sc.expectHistory(h, "PURCHASE", resolved, subResolved, "100.00")
	sc.expectSteps(h, "START RESOLVED/RESOLVED", "PURCHASE RESOLVED/RESOLVED")
	sc.summary = fmt.Sprintf("%s paid 100.00 TRY, purchased, balance %s", o.Number, h.Balance)
	return nil
}

func runAuthPartialCapture(ctx context.Context, sc *scene) error {
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount("150.00"), Type: commerce.Auth, Locale: "tr",
		Capture: commerce.CapturePart, CaptureAmount: commerce.MustAmount("100.00")},
		Payment{CardNumber: cardInstallments, Installment: 3})
	if err != nil {
		return err
	}
	if sc.expectReturn(o, resolved, subResolved) {
		r := o.View().Return
		sc.expect("return installment", r.Fields["installment"], "3")
		sc.expect("return amount (interest at 0 %)", r.Fields["amount"], "150.00")
	}
	sc.expectPurchased(o)
	sc.expectThankYou(o, v)
	h, err := sc.history(ctx, o, commerce.HistoryRequest{})
	if err != nil {
		return err
	}
	sc.expectHistory(h, "PURCHASE", resolved, subResolved, "100.00")
	again := commerce.MustAmount("50.00")
	sc.expectRefused("a second capture", sc.shop.Capture(ctx, o, &again), http.StatusUnprocessableEntity, "already_purchased")
	sc.summary = fmt.Sprintf("%s authorised 150.00 in 3 installments, captured 100.00, balance %s", o.Number, h.Balance)
	return nil
}

// declined runs a checkout whose payment must fail, and checks what
// Akinon checks: a verified return with the failure, no purchase, the
// failure in history, and a purchase refused by the gateway.
func declined(ctx context.Context, sc *scene, p Payment, sub string) (*commerce.Order, error) {
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount("50.00"), Type: commerce.Sale}, p)
	if err != nil {
		return o, err
	}
	sc.expectReturn(o, rejected, sub)
	sc.expectDeclined(o, v)
	h, err := sc.history(ctx, o, commerce.HistoryRequest{})
	if err != nil {
		return o, err
	}
	sc.expectHistory(h, "START", rejected, sub, "0.00")
	sc.expectSteps(h, "START REJECTED/"+sub)
	x, err := sc.callRaw(ctx, commerce.EndpointPurchase, mustJSON(commerce.PurchaseRequest{
		Version: commerce.APIVersion, GUID: commerce.NewGUID(), OrderID: o.Number}))
	if err != nil {
		return o, err
	}
	sc.expectRefused("purchase of a rejected payment", operationOf(x), http.StatusUnprocessableEntity, "session_rejected")
	return o, nil
}

func runDecline(ctx context.Context, sc *scene) error {
	o, err := declined(ctx, sc, Payment{CardNumber: cardDeclined}, processingError)
	if err != nil {
		return err
	}
	// The shopper tries again with another card: a new session of the
	// same order.
	sc.shots.next(2)
	v, err := sc.shopper.Checkout(ctx, sc.shop, o, Payment{CardNumber: cardApproved}, sc.shots)
	sc.orders = append(sc.orders, orderReport{Number: o.Number, Page: v.Page, ShownOrderNumber: v.OrderNumber,
		Screens: v.Screens, Pages: v.Pages, Screenshots: v.Screenshots, FinalDOM: v.FinalDOM})
	if err != nil {
		return fmt.Errorf("second attempt: %w", err)
	}
	sc.expectReturn(o, resolved, subResolved)
	sc.expectPurchased(o)
	sc.expectThankYou(o, v)
	if err := sc.historyIs(ctx, o, "PURCHASE", resolved, subResolved, "50.00", "START REJECTED/PROCESSING_ERROR", "START RESOLVED/RESOLVED", "PURCHASE RESOLVED/RESOLVED"); err != nil {
		return err
	}
	sc.summary = fmt.Sprintf("%s declined (PROCESSING_ERROR), then paid with another card", o.Number)
	return nil
}

func runFraud(ctx context.Context, sc *scene) error {
	o, err := declined(ctx, sc, Payment{CardNumber: cardFraud}, risky)
	if err == nil {
		sc.summary = o.Number + " REJECTED/RISKY, not purchased"
	}
	return err
}

func run3DSPass(ctx context.Context, sc *scene) error {
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount("75.50"), Type: commerce.Sale},
		Payment{CardNumber: cardThreeDS, ThreeDSCode: threeDSCode})
	if err != nil {
		return err
	}
	sc.expect("hosted screens", strings.Join(v.Screens, " → "), "card form → 3-D Secure → return")
	sc.expectBankTrip(v)
	sc.expectReturn(o, resolved, subResolved)
	sc.expectPurchased(o)
	sc.expectThankYou(o, v)
	sc.summary = o.Number + " passed 3-D Secure at the bank's ACS, purchased; pages " + strings.Join(v.Pages, " → ")
	return nil
}

func run3DSAbandoned(ctx context.Context, sc *scene) error {
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount("33.00"), Type: commerce.Sale},
		Payment{CardNumber: cardThreeDS, AbandonAtBank: true})
	if !errors.Is(err, errAbandoned) {
		return fmt.Errorf("the walk should end unanswered at the bank, got %v", err)
	}
	sc.expect("hosted screens", strings.Join(v.Screens, " → "), "card form → 3-D Secure")
	if r := o.View().Return; r != nil {
		sc.failf("order %s: a return POST came from an abandoned challenge: %v", o.Number, r.Fields)
	}
	x, err := sc.callRaw(ctx, commerce.EndpointPurchase, mustJSON(commerce.PurchaseRequest{
		Version: commerce.APIVersion, GUID: commerce.NewGUID(), OrderID: o.Number}))
	if err != nil {
		return err
	}
	sc.expectRefused("purchase while the shopper is at the bank", operationOf(x), http.StatusUnprocessableEntity, "session_not_paid")
	if sc.cfg.SessionTTL <= 0 {
		sc.summary = fmt.Sprintf("%s left at the ACS (%s), not purchasable; expiry not awaited (no -session-ttl)", o.Number,
			strings.Join(v.Pages, " → "))
		return nil
	}
	// The expiry comes within SessionTTL of the start, which config
	// keeps below the webhook wait.
	wh, err := sc.waitWebhook(ctx, o, rejected)
	if err != nil {
		return err
	}
	sc.expect("webhook subStatus", wh.SubStatus, processingError)
	if p := o.View().Purchase; p != nil {
		sc.failf("order %s: Commerce purchased an abandoned payment (%s)", o.Number, p.Describe())
	}
	sc.summary = fmt.Sprintf("%s left at the ACS (%s), expired: webhook %s REJECTED/PROCESSING_ERROR", o.Number,
		strings.Join(v.Pages, " → "), wh.EventID)
	return nil
}

func run3DSFrictionless(ctx context.Context, sc *scene) error {
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount("64.00"), Type: commerce.Sale},
		Payment{CardNumber: cardFrictionless})
	if err != nil {
		return err
	}
	sc.expect("hosted screens", strings.Join(v.Screens, " → "), "card form → return")
	sc.expectBankTrip(v)
	sc.expectReturn(o, resolved, subResolved)
	sc.expectPurchased(o)
	sc.expectThankYou(o, v)
	sc.summary = o.Number + " authenticated by the bank's ACS without a challenge, purchased"
	return nil
}

// expectBankTrip checks the shopper left the gateway's origin for the
// bank's and came back to the gateway's return URL for the attempt.
func (sc *scene) expectBankTrip(v Visit) {
	if len(v.Pages) == 0 {
		sc.failf("no pages were recorded")
		return
	}
	origin := func(u string) string {
		p, err := url.Parse(u)
		if err != nil {
			return ""
		}
		return p.Scheme + "://" + p.Host
	}
	gw := origin(v.Pages[0])
	away, back := false, false
	for _, p := range v.Pages {
		switch {
		case origin(p) != gw:
			away = true
		case away && strings.Contains(p, "/return/"):
			back = true
		}
	}
	sc.expect("a trip to the bank's origin and back to the gateway's return URL ("+strings.Join(v.Pages, " → ")+")", away && back, true)
}

func run3DSFail(ctx context.Context, sc *scene) error {
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount("75.50"), Type: commerce.Sale},
		Payment{CardNumber: cardThreeDS, ThreeDSCode: "000000"})
	if err != nil {
		return err
	}
	sc.expect("hosted screens", strings.Join(v.Screens, " → "), "card form → 3-D Secure → return")
	sc.expectBankTrip(v)
	sc.expectReturn(o, rejected, processingError)
	sc.expectDeclined(o, v)
	sc.summary = o.Number + " failed 3-D Secure: REJECTED/PROCESSING_ERROR"
	return nil
}

func runTransient(ctx context.Context, sc *scene) error {
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount("42.00"), Type: commerce.Sale},
		Payment{CardNumber: cardTransient})
	if err != nil {
		return err
	}
	sc.expectReturn(o, resolved, subResolved)
	sc.expectPurchased(o)
	sc.expectThankYou(o, v)
	h, err := sc.history(ctx, o, commerce.HistoryRequest{Type: "START"})
	if err != nil {
		return err
	}
	if !sc.expect("START steps", len(h.Steps), 1) {
		return nil
	}
	var codes []string
	for _, s := range h.Steps[0].SubSteps {
		codes = append(codes, s.StatusCode)
	}
	sc.expect("START sub-steps", strings.Join(codes, ", "), "TRANSIENT_ERROR, TRANSIENT_ERROR, 00")
	sc.summary = fmt.Sprintf("%s approved on the third attempt (%d sub-steps)", o.Number, len(codes))
	return nil
}

// pendingThenWebhook pays with a card the bank decides later: the return
// says PENDING, Commerce waits, and the webhook brings the outcome.
func pendingThenWebhook(ctx context.Context, sc *scene, card, status, sub string) (*commerce.Order, Visit, commerce.Webhook, error) {
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount("120.00"), Type: commerce.Sale},
		Payment{CardNumber: card})
	if err != nil {
		return o, v, commerce.Webhook{}, err
	}
	sc.expectReturn(o, pending, paymentWaiting)
	sc.expectThankYou(o, v)
	if r := o.View().Return; r != nil && r.Fields["status"] == pending {
		x, err := sc.callRaw(ctx, commerce.EndpointPurchase, mustJSON(commerce.PurchaseRequest{
			Version: commerce.APIVersion, GUID: commerce.NewGUID(), OrderID: o.Number}))
		if err != nil {
			return o, v, commerce.Webhook{}, err
		}
		sc.expectRefused("purchase while PENDING", operationOf(x), http.StatusUnprocessableEntity, "session_not_paid")
	}
	wh, err := sc.waitWebhook(ctx, o, status)
	if err != nil {
		return o, v, wh, err
	}
	sc.expect("webhook subStatus", wh.SubStatus, sub)
	sc.expect("webhook transactionId", wh.TransactionID, o.View().TransactionID)
	sc.expect("webhook amount", wh.Amount, "120.00")
	return o, v, wh, nil
}

func runPendingResolved(ctx context.Context, sc *scene) error {
	o, _, wh, err := pendingThenWebhook(ctx, sc, cardPendingOK, resolved, subResolved)
	if err != nil {
		return err
	}
	// The webhook handler purchases; wait for it to finish.
	wctx, cancel := context.WithTimeout(ctx, sc.cfg.WebhookWait)
	defer cancel()
	if _, err := o.Wait(wctx, func(v commerce.OrderView) bool { return v.Purchase != nil }); err != nil {
		return fmt.Errorf("no purchase after the RESOLVED webhook: %w", err)
	}
	sc.expectPurchased(o)
	if err := sc.historyIs(ctx, o, "PURCHASE", resolved, subResolved, "120.00", "START RESOLVED/RESOLVED", "PURCHASE RESOLVED/RESOLVED"); err != nil {
		return err
	}
	st := sc.shop.WebhookStats()
	sc.summary = fmt.Sprintf("%s PENDING, webhook %s RESOLVED, purchased (webhooks: %d taken, %d duplicates, %d refused)",
		o.Number, wh.EventID, st.Applied, st.Duplicates, st.Refused)
	return nil
}

func runPendingRisky(ctx context.Context, sc *scene) error {
	o, _, wh, err := pendingThenWebhook(ctx, sc, cardPendingRisky, rejected, risky)
	if err != nil {
		return err
	}
	sc.expect("order status", o.View().Status, commerce.OrderPaymentFailed)
	if p := o.View().Purchase; p != nil {
		sc.failf("order %s: Commerce purchased a rejected payment (%s)", o.Number, p.Describe())
	}
	if err := sc.historyIs(ctx, o, "START", rejected, risky, "0.00"); err != nil {
		return err
	}
	sc.summary = fmt.Sprintf("%s PENDING, webhook %s REJECTED/RISKY, not purchased", o.Number, wh.EventID)
	return nil
}

func runRefund(ctx context.Context, sc *scene) error {
	o, err := paidAndPurchased(ctx, sc, "200.00")
	if err != nil {
		return err
	}
	sc.expectResolved("refund 50.00", sc.shop.Refund(ctx, o, commerce.MustAmount("50.00")))
	if err := sc.historyIs(ctx, o, "REFUND", resolved, subResolved, "150.00"); err != nil {
		return err
	}
	sc.expectResolved("refund the remaining 150.00", sc.shop.Refund(ctx, o, commerce.MustAmount("150.00")))
	sc.expectRefused("refund 0.01 more than paid", sc.shop.Refund(ctx, o, commerce.MustAmount("0.01")),
		http.StatusUnprocessableEntity, "amount_exceeds_balance")
	if err := sc.historyIs(ctx, o, "REFUND", resolved, subResolved, "0.00", "START RESOLVED/RESOLVED", "PURCHASE RESOLVED/RESOLVED", "REFUND RESOLVED/RESOLVED", "REFUND RESOLVED/RESOLVED"); err != nil {
		return err
	}
	sc.summary = o.Number + " 200.00 refunded as 50.00 + 150.00, balance 0.00"
	return nil
}

func runVoid(ctx context.Context, sc *scene) error {
	// An authorisation Commerce never captures, then cancels.
	o, v, err := sc.checkout(ctx, commerce.OrderSpec{Amount: commerce.MustAmount("80.00"), Type: commerce.Auth,
		Capture: commerce.CaptureManual}, Payment{CardNumber: cardApproved})
	if err != nil {
		return err
	}
	sc.expectReturn(o, resolved, subResolved)
	sc.expectThankYou(o, v)
	sc.expect("order status", o.View().Status, commerce.OrderAuthorised)
	sc.expectResolved("void of the authorisation", sc.shop.Void(ctx, o))
	if err := sc.historyIs(ctx, o, "VOID", resolved, subResolved, "0.00", "START RESOLVED/RESOLVED", "VOID RESOLVED/RESOLVED"); err != nil {
		return err
	}
	sc.expectRefused("capture after void", sc.shop.Capture(ctx, o, nil), http.StatusUnprocessableEntity, "session_voided")
	sc.expectRefused("refund after void", sc.shop.Refund(ctx, o, commerce.MustAmount("1.00")), http.StatusUnprocessableEntity, "session_voided")

	// A purchase reversed the same day.
	p, err := paidAndPurchased(ctx, sc, "60.00")
	if err != nil {
		return err
	}
	sc.expectResolved("void of the purchase", sc.shop.Void(ctx, p))
	if err := sc.historyIs(ctx, p, "VOID", resolved, subResolved, "0.00", "START RESOLVED/RESOLVED", "PURCHASE RESOLVED/RESOLVED", "VOID RESOLVED/RESOLVED"); err != nil {
		return err
	}
	sc.summary = fmt.Sprintf("%s authorisation voided, %s purchase voided, balances 0.00", o.Number, p.Number)
	return nil
}

func runHistoryFilters(ctx context.Context, sc *scene) error {
	o, err := paidAndPurchased(ctx, sc, "90.00")
	if err != nil {
		return err
	}
	sc.expectResolved("refund 15.00", sc.shop.Refund(ctx, o, commerce.MustAmount("15.00")))
	v := o.View()
	purchaseTxn := ""
	if v.Purchase != nil {
		purchaseTxn = v.Purchase.TransactionID
	}
	cases := []struct {
		name   string
		filter commerce.HistoryRequest
		want   []string
	}{
		{"no filter", commerce.HistoryRequest{}, []string{"START RESOLVED/RESOLVED", "PURCHASE RESOLVED/RESOLVED", "REFUND RESOLVED/RESOLVED"}},
		{"type=REFUND", commerce.HistoryRequest{Type: "REFUND"}, []string{"REFUND RESOLVED/RESOLVED"}},
		{"transactionId of the session", commerce.HistoryRequest{TransactionID: v.TransactionID}, []string{"START RESOLVED/RESOLVED"}},
		{"transactionId of the purchase", commerce.HistoryRequest{TransactionID: purchaseTxn}, []string{"PURCHASE RESOLVED/RESOLVED"}},
		{"type=START subStatus=RESOLVED", commerce.HistoryRequest{Type: "START", SubStatus: subResolved}, []string{"START RESOLVED/RESOLVED"}},
		{"status=REJECTED", commerce.HistoryRequest{Status: rejected}, nil},
		{"type=VOID", commerce.HistoryRequest{Type: "VOID"}, nil},
	}
	for _, tc := range cases {
		h, x, err := sc.shop.History(ctx, o, tc.filter)
		if err != nil {
			return fmt.Errorf("history %s: %w", tc.name, err)
		}
		got := make([]string, len(h.Steps))
		for i, s := range h.Steps {
			got[i] = s.Type + " " + s.StatusCode + "/" + s.SubStatusCode
		}
		sc.expect("history "+tc.name, "["+strings.Join(got, ", ")+"]", "["+strings.Join(tc.want, ", ")+"]")
		// The top says where the order stands, whatever the filter.
		sc.expect("history "+tc.name+": lastAction", h.LastAction, "REFUND")
		sc.expect("history "+tc.name+": balance", h.Balance, commerce.MustAmount("75.00"))
		if len(tc.want) == 0 && !bytes.Contains(x.Body, []byte(`"paymentTransactionHistory":[]`)) {
			sc.failf("history %s: paymentTransactionHistory is not an empty list: %s", tc.name, x.Body)
		}
	}
	sc.summary = fmt.Sprintf("%s: %d filtered reads", o.Number, len(cases))
	return nil
}

func runReplaySameGUID(ctx context.Context, sc *scene) error {
	o, err := paidAndPurchased(ctx, sc, "70.00")
	if err != nil {
		return err
	}
	refund := mustJSON(commerce.RefundRequest{Version: commerce.APIVersion, GUID: commerce.NewGUID(), OrderID: o.Number,
		Amount: commerce.MustAmount("20.00"), Currency: "TRY"})
	history := mustJSON(commerce.HistoryRequest{Version: commerce.APIVersion, GUID: commerce.NewGUID(), OrderID: o.Number})
	for _, c := range []struct {
		endpoint string
		body     []byte
	}{{commerce.EndpointRefund, refund}, {commerce.EndpointHistory, history}} {
		first, err := sc.callRaw(ctx, c.endpoint, c.body)
		if err != nil {
			return err
		}
		sc.expect(c.endpoint+" first answer", first.Status, http.StatusOK)
		sc.expect(c.endpoint+" first answer Idempotent-Replayed", first.Header.Get(commerce.HeaderReplayed), "")
		again, err := sc.callRaw(ctx, c.endpoint, c.body)
		if err != nil {
			return err
		}
		sc.expect(c.endpoint+" replay status", again.Status, first.Status)
		sc.expect(c.endpoint+" replay Idempotent-Replayed", again.Header.Get(commerce.HeaderReplayed), "true")
		if !bytes.Equal(again.Body, first.Body) {
			sc.failf("%s replay: body differs from the first answer at byte %d:\n  first:  %s\n  replay: %s",
				c.endpoint, firstDifference(first.Body, again.Body), first.Body, again.Body)
		}
	}
	// Commerce's own purchase, retried with its guid: the stored answer,
	// no second capture.
	if p := o.View().Purchase; p != nil {
		x, err := sc.callRaw(ctx, commerce.EndpointPurchase, mustJSON(commerce.PurchaseRequest{
			Version: commerce.APIVersion, GUID: p.GUID, OrderID: o.Number}))
		if err != nil {
			return err
		}
		sc.expect("purchase retried with its guid", operationOf(x).Describe(), "HTTP 200 RESOLVED/RESOLVED")
		sc.expect("purchase retry transactionId", operationOf(x).TransactionID, p.TransactionID)
		sc.expect("purchase retry Idempotent-Replayed", x.Header.Get(commerce.HeaderReplayed), "true")
	}
	if err := sc.historyIs(ctx, o, "REFUND", resolved, subResolved, "50.00", "START RESOLVED/RESOLVED", "PURCHASE RESOLVED/RESOLVED", "REFUND RESOLVED/RESOLVED"); err != nil {
		return err
	}
	sc.summary = o.Number + " refund, history and purchase replayed byte for byte; refunded once"
	return nil
}

func runGUIDReused(ctx context.Context, sc *scene) error {
	o, err := paidAndPurchased(ctx, sc, "40.00")
	if err != nil {
		return err
	}
	guid := commerce.NewGUID()
	body := func(amount string) []byte {
		return mustJSON(commerce.RefundRequest{Version: commerce.APIVersion, GUID: guid, OrderID: o.Number,
			Amount: commerce.MustAmount(amount), Currency: "TRY"})
	}
	steps := []struct {
		what     string
		endpoint string
		body     []byte
		status   int
		code     string
	}{
		{"refund 10.00", commerce.EndpointRefund, body("10.00"), http.StatusOK, ""},
		{"same guid, refund 15.00", commerce.EndpointRefund, body("15.00"), http.StatusUnprocessableEntity, "idempotency_key_reused"},
		{"same guid on /void", commerce.EndpointVoid, mustJSON(commerce.VoidRequest{Version: commerce.APIVersion, GUID: guid, OrderID: o.Number}),
			http.StatusUnprocessableEntity, "idempotency_key_reused"},
	}
	for _, st := range steps {
		x, err := sc.callRaw(ctx, st.endpoint, st.body)
		if err != nil {
			return err
		}
		sc.expectRefused(st.what, operationOf(x), st.status, st.code)
	}
	if err := sc.historyIs(ctx, o, "REFUND", resolved, subResolved, "30.00", "START RESOLVED/RESOLVED", "PURCHASE RESOLVED/RESOLVED", "REFUND RESOLVED/RESOLVED"); err != nil {
		return err
	}
	sc.summary = o.Number + " guid reused with another amount and another endpoint: 422 both times"
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// firstDifference is the offset of the first byte where a and b differ.
func firstDifference(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
