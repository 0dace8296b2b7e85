package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
)

// scenario is one end-to-end story, told from Akinon's side.
type scenario struct {
	name  string
	about string
	run   func(ctx context.Context, sc *scene) error
}

// scene is a running scenario: what it may use, and what it found. A
// failed check is recorded and the scenario goes on; an error returned by
// run ends it.
type scene struct {
	name     string
	cfg      config
	shop     *commerce.Shop
	shopper  Shopper
	shots    *shots
	failures []string
	summary  string
	orders   []orderReport
}

// orderReport is one checkout of a scenario, for -report.
type orderReport struct {
	Number           string   `json:"number"`
	Page             string   `json:"page"`
	ShownOrderNumber string   `json:"shownOrderNumber"`
	Screens          []string `json:"screens"`
	Pages            []string `json:"pages,omitempty"` // URLs from the hosted page to the return, in order
	Screenshots      []string `json:"screenshots,omitempty"`
	FinalDOM         string   `json:"finalDom,omitempty"`
}

func (sc *scene) failf(format string, args ...any) {
	sc.failures = append(sc.failures, fmt.Sprintf(format, args...))
}

// expect compares one value Akinon reads with what it must be.
func (sc *scene) expect(what string, got, want any) bool {
	if fmt.Sprint(got) == fmt.Sprint(want) {
		return true
	}
	sc.failf("%s: got %v, want %v", what, show(got), show(want))
	return false
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// checkout puts a basket in checkout and sends the shopper through it.
// A shopper that cannot finish the walk ends the scenario.
func (sc *scene) checkout(ctx context.Context, spec commerce.OrderSpec, p Payment) (*commerce.Order, Visit, error) {
	if spec.Currency == "" {
		spec.Currency = "TRY"
	}
	if spec.Customer.Email == "" {
		spec.Customer = commerce.Customer{FirstName: "Ayşe", LastName: "Yılmaz", PhoneNumber: "+905551112233", Email: "ayse@example.com"}
	}
	o := sc.shop.NewOrder(spec)
	sc.shots.next(len(sc.orders) + 1)
	v, err := sc.shopper.Checkout(ctx, sc.shop, o, p, sc.shots)
	sc.orders = append(sc.orders, orderReport{Number: o.Number, Page: v.Page, ShownOrderNumber: v.OrderNumber,
		Screens: v.Screens, Pages: v.Pages, Screenshots: v.Screenshots, FinalDOM: v.FinalDOM})
	if err != nil {
		return o, v, fmt.Errorf("order %s: the shopper could not finish: %w", o.Number, err)
	}
	return o, v, nil
}

// expectReturn checks the return POST: it arrived, its hash verified, it
// belongs to the order's session, and it says status/sub.
func (sc *scene) expectReturn(o *commerce.Order, status, sub string) bool {
	v := o.View()
	r := v.Return
	switch {
	case r == nil:
		sc.failf("order %s: no return POST reached the returnUrl", o.Number)
		return false
	case !r.Verified:
		sc.failf("order %s: the return POST was refused: %s", o.Number, r.Problem)
		return false
	}
	ok := sc.expect("return transactionId", r.Fields["transactionId"], v.TransactionID)
	ok = sc.expect("return status", r.Fields["status"], status) && ok
	return sc.expect("return subStatus", r.Fields["subStatus"], sub) && ok
}

// expectThankYou checks the shopper ended on the thank-you page showing
// the order's number.
func (sc *scene) expectThankYou(o *commerce.Order, v Visit) {
	if sc.expect("page after the return", v.Page, commerce.PageThankYou) {
		sc.expect("order number on the thank-you page", v.OrderNumber, o.Number)
	}
}

// expectDeclined checks the shopper is back on the payment options with
// the reason shown.
func (sc *scene) expectDeclined(o *commerce.Order, v Visit) {
	sc.expect("page after the return", v.Page, commerce.PagePaymentOptionSelection)
	if len(v.Errors["non_field_errors"]) == 0 {
		sc.failf("order %s: the payment options page shows no error", o.Number)
	}
	sc.expect("order status", o.View().Status, commerce.OrderPaymentFailed)
	if p := o.View().Purchase; p != nil {
		sc.failf("order %s: Commerce purchased a declined payment (%s)", o.Number, p.Describe())
	}
}

// expectPurchased checks Commerce's purchase went through.
func (sc *scene) expectPurchased(o *commerce.Order) {
	v := o.View()
	if v.Purchase == nil {
		sc.failf("order %s: no purchase was made (status %s)", o.Number, v.Status)
		return
	}
	if sc.expect("purchase", v.Purchase.Describe(), "HTTP 200 RESOLVED/RESOLVED") {
		sc.expect("order status", v.Status, commerce.OrderCompleted)
	}
}

// history reads the order's history; a failed call ends the scenario.
func (sc *scene) history(ctx context.Context, o *commerce.Order, filter commerce.HistoryRequest) (commerce.HistoryResponse, error) {
	h, _, err := sc.shop.History(ctx, o, filter)
	if err != nil {
		return h, fmt.Errorf("order %s: history: %w", o.Number, err)
	}
	return h, nil
}

// expectHistory checks the top of a history.
func (sc *scene) expectHistory(h commerce.HistoryResponse, lastAction, status, sub string, balance string) {
	sc.expect("history lastAction", h.LastAction, lastAction)
	sc.expect("history status", h.Status, status)
	sc.expect("history substatus", h.Substatus, sub)
	sc.expect("history balance", h.Balance, commerce.MustAmount(balance))
}

// historyIs reads the order's whole history and expects its summary, and
// its steps when they are given.
func (sc *scene) historyIs(ctx context.Context, o *commerce.Order, lastAction, status, sub, balance string, steps ...string) error {
	h, err := sc.history(ctx, o, commerce.HistoryRequest{})
	if err != nil {
		return err
	}
	sc.expectHistory(h, lastAction, status, sub, balance)
	if steps != nil {
		sc.expectSteps(h, steps...)
	}
	return nil
}

// expectSteps checks the steps' type/status/subStatus, in order.
func (sc *scene) expectSteps(h commerce.HistoryResponse, want ...string) {
	got := make([]string, len(h.Steps))
	for i, s := range h.Steps {
		got[i] = s.Type + " " + s.StatusCode + "/" + s.SubStatusCode
	}
	sc.expect("history steps", "["+strings.Join(got, ", ")+"]", "["+strings.Join(want, ", ")+"]")
}

// expectRefused checks an operation was refused with an HTTP status and
// error code.
func (sc *scene) expectRefused(what string, op commerce.Operation, status int, code string) {
	got := fmt.Sprintf("HTTP %d %s", op.HTTPStatus, op.Code)
	sc.expect(what, got, fmt.Sprintf("HTTP %d %s", status, code))
}

// expectResolved checks an operation went through.
func (sc *scene) expectResolved(what string, op commerce.Operation) bool {
	return sc.expect(what, op.Describe(), "HTTP 200 RESOLVED/RESOLVED")
}

// waitWebhook waits for a verified webhook of the order that matches.
func (sc *scene) waitWebhook(ctx context.Context, o *commerce.Order, status string) (commerce.Webhook, error) {
	wctx, cancel := context.WithTimeout(ctx, sc.cfg.WebhookWait)
	defer cancel()
	v, err := o.Wait(wctx, func(v commerce.OrderView) bool { return findWebhook(v, status) != nil })
	if err != nil {
		st := sc.shop.WebhookStats()
		return commerce.Webhook{}, fmt.Errorf("order %s: no verified %s webhook within %s. The gateway must POST "+
			"PAYMENT_STATUS_CHANGED to %s (its WEBHOOK_URL), signed with WEBHOOK_HASH_KEY; this shop received %d webhook "+
			"request(s), refused %d, took %d (order status %s)",
			o.Number, status, sc.cfg.WebhookWait, sc.shop.WebhookURL(), st.Received, st.Refused, st.Applied, v.Status)
	}
	return *findWebhook(v, status), nil
}

func findWebhook(v commerce.OrderView, status string) *commerce.Webhook {
	for i := range v.Webhooks {
		if v.Webhooks[i].Status == status {
			return &v.Webhooks[i]
		}
	}
	return nil
}

// callRaw sends a body as is and decodes nothing: for the idempotency
// scenarios, which compare bytes.
func (sc *scene) callRaw(ctx context.Context, endpoint string, body []byte) (*commerce.Exchange, error) {
	x := sc.shop.Gateway().Call(ctx, endpoint, body, "")
	if x.Err != nil {
		return x, fmt.Errorf("%s: %w", endpoint, x.Err)
	}
	return x, nil
}

// operationOf reads an exchange as purchase/void/refund reads it.
func operationOf(x *commerce.Exchange) commerce.Operation {
	op := commerce.Operation{HTTPStatus: x.Status}
	if x.Status == http.StatusOK {
		var r commerce.OperationResponse
		if err := json.Unmarshal(x.Body, &r); err != nil {
			op.Err = err.Error()
		}
		op.TransactionID, op.Status, op.SubStatus = r.TransactionID, r.Status, r.SubStatus
		return op
	}
	var e commerce.ErrorResponse
	_ = json.Unmarshal(x.Body, &e)
	op.Status, op.SubStatus = e.Status, e.SubStatus
	if len(e.Errors) > 0 {
		op.Code = e.Errors[0].Code
	}
	op.Err = fmt.Sprintf("HTTP %d %s", x.Status, op.Code)
	return op
}
