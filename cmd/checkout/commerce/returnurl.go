package commerce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/akinon-gateway/gateway/hashing"
)

// ReturnFieldNames are the return POST's fields, hash last.
var ReturnFieldNames = []string{"salt", "orderId", "sessionId", "transactionId", "amount",
	"installment", "currency", "status", "subStatus", "hash"}

// validPairs are the contract's status / subStatus pairs.
var validPairs = map[string][]string{
	StatusResolved: {"RESOLVED"},
	StatusRejected: {"PROCESSING_ERROR", "RISKY"},
	StatusPending:  {"PAYMENT_WAITING"},
}

func validPair(status, sub string) bool {
	for _, ok := range validPairs[status] {
		if ok == sub {
			return true
		}
	}
	return false
}

// receiveReturn is the returnUrl: the shopper's browser posts the
// gateway's signed outcome here. The hash is checked first; the outcome
// is then compared with the order; a paid order is purchased. The POST is
// informational (the contract says so), so a RESOLVED here is confirmed by
// the purchase itself.
func (s *Shop) receiveReturn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the return form could not be read", http.StatusBadRequest)
		return
	}
	f := make(map[string]string, len(ReturnFieldNames))
	for _, name := range ReturnFieldNames {
		f[name] = r.PostForm.Get(name)
	}
	o := s.Order(f["orderId"])
	if o == nil {
		s.cfg.Logf("return for unknown order %q", f["orderId"])
		http.Error(w, "unknown order", http.StatusNotFound)
		return
	}
	next := s.HandleReturn(r.Context(), o, f)
	http.Redirect(w, r, PathCheckout+"?page="+next, http.StatusSeeOther)
}

// HandleReturn applies a return POST's fields to an order and says which
// page the shopper sees next.
func (s *Shop) HandleReturn(ctx context.Context, o *Order, f map[string]string) (nextPage string) {
	o.payLock.Lock()
	defer o.payLock.Unlock()
	ret := &Return{Fields: f, At: s.cfg.Now()}
	if problem := s.checkReturn(o, f); problem != "" {
		ret.Problem = problem
		s.cfg.Logf("order %s: return refused: %s", o.Number, problem)
		o.update(func(v *OrderView) {
			v.Returns++
			v.Return = ret
			if !v.Status.Paid() {
				v.Errors = map[string][]string{"non_field_errors": {"The payment could not be verified: " + problem}}
			}
		})
		if o.View().Status.Paid() {
			return PageThankYou
		}
		return PagePaymentOptionSelection
	}
	ret.Verified = true
	o.update(func(v *OrderView) { v.Returns++; v.Return = ret })

	installment, _ := strconv.Atoi(f["installment"])
	amount, _ := ParseAmount(f["amount"])
	switch f["status"] {
	case StatusResolved:
		s.paid(ctx, o, amount, installment)
	case StatusPending:
		o.update(func(v *OrderView) {
			if v.Status == OrderRedirected {
				v.Status, v.Installment, v.PaidAmount = OrderWaitingPayment, installment, amount
			}
		})
	default:
		s.rejected(o, f["status"], f["subStatus"])
	}
	v := o.View()
	if v.Status.Paid() || v.Status == OrderWaitingPayment {
		return PageThankYou
	}
	return PagePaymentOptionSelection
}

// checkReturn says what is wrong with a return POST, or "".
func (s *Shop) checkReturn(o *Order, f map[string]string) string {
	for _, name := range ReturnFieldNames {
		if f[name] == "" {
			return "field " + name + " is missing"
		}
	}
	fields := hashing.ReturnFields{Salt: f["salt"], OrderID: f["orderId"], SessionID: f["sessionId"],
		TransactionID: f["transactionId"], Amount: f["amount"], Installment: f["installment"],
		Currency: f["currency"], Status: f["status"], SubStatus: f["subStatus"]}
	if !s.cfg.HashScheme.VerifyReturn(s.cfg.HashKey, f["hash"], fields) {
		return "bad hash: the return hash does not verify with this shop's HASH_KEY (" + string(s.scheme()) + ")"
	}
	v := o.View()
	if f["sessionId"] != v.SessionID {
		return fmt.Sprintf("sessionId %s is not the order's current session %s", f["sessionId"], v.SessionID)
	}
	if f["currency"] != o.Spec.Currency {
		return fmt.Sprintf("currency %s, the order is in %s", f["currency"], o.Spec.Currency)
	}
	amount, err := ParseAmount(f["amount"])
	if err != nil || len(f["amount"]) < 4 || f["amount"][len(f["amount"])-3] != '.' {
		return fmt.Sprintf("amount %q is not a number with exactly 2 decimals", f["amount"])
	}
	// Installment interest may raise the amount, never lower it.
	if amount < o.Spec.Amount {
		return fmt.Sprintf("amount %s is less than the order's %s", amount, o.Spec.Amount)
	}
	if n, err := strconv.Atoi(f["installment"]); err != nil || n < 1 {
		return fmt.Sprintf("installment %q is not a count", f["installment"])
	}
	if !validPair(f["status"], f["subStatus"]) {
		return fmt.Sprintf("%s/%s is not a status pair of the contract", f["status"], f["subStatus"])
	}
	return ""
}

func (s *Shop) scheme() hashing.Scheme {
	if s.cfg.HashScheme == "" {
		return hashing.DefaultScheme
	}
	return s.cfg.HashScheme
}

// paid reacts to a verified RESOLVED payment (from the return or a
// webhook, whichever comes first): the order is purchased as its capture
// policy says. Called with payLock held; a second call does nothing.
func (s *Shop) paid(ctx context.Context, o *Order, amount Amount, installment int) {
	if v := o.View(); v.Status.Paid() || v.Status == OrderCancelled {
		return
	}
	o.update(func(v *OrderView) {
		v.PaidAmount, v.Errors = amount, nil
		if installment > 0 {
			v.Installment = installment
		}
		v.Status = OrderAuthorised
	})
	if o.Spec.Capture == CaptureManual {
		return
	}
	var part *Amount
	if o.Spec.Capture == CapturePart {
		a := o.Spec.CaptureAmount
		part = &a
	}
	op := s.purchase(ctx, o, part)
	o.update(func(v *OrderView) {
		v.Purchase = &op
		if op.HTTPStatus == http.StatusOK && op.Status == StatusResolved {
			v.Status = OrderCompleted
		} else {
			v.Status = OrderPurchaseFailed
			v.Errors = map[string][]string{"non_field_errors": {"The payment was taken but the purchase failed: " + op.describe()}}
		}
	})
}

// rejected records a failed payment, unless the order is already paid.
func (s *Shop) rejected(o *Order, status, sub string) {
	o.update(func(v *OrderView) {
		if v.Status.Paid() || v.Status == OrderCancelled {
			return
		}
		v.Status = OrderPaymentFailed
		v.Errors = map[string][]string{"non_field_errors": {fmt.Sprintf("The payment was declined (%s/%s). Please try another card.", status, sub)}}
	})
}

// purchase calls purchase with a new guid.
func (s *Shop) purchase(ctx context.Context, o *Order, amount *Amount) Operation {
	req := PurchaseRequest{Version: APIVersion, GUID: NewGUID(), OrderID: o.Number, OrderAmount: amount}
	resp, x, err := s.cfg.Gateway.Purchase(context.WithoutCancel(ctx), req)
	op := operation(req.GUID, resp, x, err)
	s.cfg.Logf("order %s: purchase %s → %s", o.Number, req.GUID, op.describe())
	return op
}

// Capture purchases an order whose capture was left to the back office.
func (s *Shop) Capture(ctx context.Context, o *Order, amount *Amount) Operation {
	o.payLock.Lock()
	defer o.payLock.Unlock()
	op := s.purchase(ctx, o, amount)
	o.update(func(v *OrderView) {
		v.Purchase = &op
		if op.HTTPStatus == http.StatusOK && op.Status == StatusResolved {
			v.Status = OrderCompleted
		}
	})
	return op
}

// Refund gives back amount of an order.
func (s *Shop) Refund(ctx context.Context, o *Order, amount Amount) Operation {
	req := RefundRequest{Version: APIVersion, GUID: NewGUID(), OrderID: o.Number, Amount: amount, Currency: o.Spec.Currency}
	resp, x, err := s.cfg.Gateway.Refund(ctx, req)
	op := operation(req.GUID, resp, x, err)
	if op.HTTPStatus == http.StatusOK && op.Status == StatusResolved {
		o.update(func(v *OrderView) { v.Status = OrderPartlyRefunded })
	}
	return op
}

// Void cancels an order's payment.
func (s *Shop) Void(ctx context.Context, o *Order) Operation {
	req := VoidRequest{Version: APIVersion, GUID: NewGUID(), OrderID: o.Number}
	resp, x, err := s.cfg.Gateway.Void(ctx, req)
	op := operation(req.GUID, resp, x, err)
	if op.HTTPStatus == http.StatusOK && op.Status == StatusResolved {
		o.update(func(v *OrderView) { v.Status = OrderCancelled })
	}
	return op
}

// History reads an order's history; filter's guid and orderId are filled
// in.
func (s *Shop) History(ctx context.Context, o *Order, filter HistoryRequest) (HistoryResponse, *Exchange, error) {
	filter.Version, filter.GUID, filter.OrderID = APIVersion, NewGUID(), o.Number
	return s.cfg.Gateway.History(ctx, filter)
}

func operation(guid string, resp OperationResponse, x *Exchange, err error) Operation {
	op := Operation{GUID: guid, TransactionID: resp.TransactionID, Status: resp.Status, SubStatus: resp.SubStatus}
	if x != nil {
		op.HTTPStatus = x.Status
	}
	var ce *CallError
	if errors.As(err, &ce) {
		op.Code, op.Status, op.SubStatus, op.TransactionID = ce.Code(), ce.Body.Status, ce.Body.SubStatus, ce.Body.TransactionID
	}
	if err != nil {
		op.Err = err.Error()
	}
	return op
}

func (op Operation) describe() string {
	if op.Err != "" {
		return op.Err
	}
	return fmt.Sprintf("HTTP %d %s/%s", op.HTTPStatus, op.Status, op.SubStatus)
}

// Describe is a one-line summary of the operation.
func (op Operation) Describe() string { return op.describe() }
