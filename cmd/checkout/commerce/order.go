package commerce

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Payment types of start-session.
const (
	Sale = "SALE"
	Auth = "AUTH"
)

// Statuses of the contract.
const (
	StatusResolved = "RESOLVED"
	StatusRejected = "REJECTED"
	StatusPending  = "PENDING"
)

// Capture says what Commerce purchases once the shopper has paid.
type Capture int

const (
	// CaptureAll purchases the whole amount (a SALE's confirmation, an
	// AUTH's full capture).
	CaptureAll Capture = iota
	// CapturePart captures OrderSpec.CaptureAmount of an AUTH.
	CapturePart
	// CaptureManual leaves the payment authorised; the back office
	// decides later (capture or void).
	CaptureManual
)

// OrderSpec is the basket a shopper checks out.
type OrderSpec struct {
	Amount        Amount
	Currency      string // ISO 4217, e.g. TRY
	Type          string // SALE or AUTH
	Locale        string // tr, en
	Capture       Capture
	CaptureAmount Amount // for CapturePart
	Customer      Customer
	ProductName   string
}

// OrderStatus is where an order stands, as Commerce sees it.
type OrderStatus string

const (
	OrderOpen           OrderStatus = "pre_order"          // basket, no payment yet
	OrderRedirected     OrderStatus = "redirected"         // the shopper is at the bank
	OrderWaitingPayment OrderStatus = "waiting_payment"    // the bank has not decided (PENDING)
	OrderAuthorised     OrderStatus = "authorised"         // paid; capture left to the back office
	OrderCompleted      OrderStatus = "completed"          // paid and purchased
	OrderPaymentFailed  OrderStatus = "payment_failed"     // rejected, expired or unverifiable
	OrderPurchaseFailed OrderStatus = "purchase_failed"    // paid, but the purchase was refused
	OrderCancelled      OrderStatus = "cancelled"          // voided
	OrderRefunded       OrderStatus = "refunded"           // completed, then refunded in full
	OrderPartlyRefunded OrderStatus = "partially_refunded" // completed, then refunded in part
)

// Paid reports whether the shopper's money is taken or held.
func (s OrderStatus) Paid() bool {
	switch s {
	case OrderAuthorised, OrderCompleted, OrderPurchaseFailed, OrderRefunded, OrderPartlyRefunded:
		return true
	}
	return false
}

// Return is the shopper's return POST as the receiver saw it.
type Return struct {
	Fields   map[string]string
	Verified bool
	Problem  string // why it was refused, when it was
	At       time.Time
}

// Webhook is one verified webhook event applied to the order.
type Webhook struct {
	EventID        string
	EventTimestamp string
	Status         string
	SubStatus      string
	Amount         string
	TransactionID  string
	At             time.Time
}

// Operation is the outcome of a back-office call.
type Operation struct {
	GUID          string
	HTTPStatus    int
	TransactionID string
	Status        string
	SubStatus     string
	Code          string // error code when HTTPStatus is not 200
	Err           string
}

// Order is one checkout. Its fields change under mu; readers take a
// View.
type Order struct {
	PK     int
	Number string // order_number, also the orderId the gateway knows
	Token  string // the checkout token; osessionid's value
	Spec   OrderSpec

	mu      sync.Mutex
	payLock sync.Mutex // serialises what reacts to the payment's outcome
	changed chan struct{}
	view    OrderView
}

// OrderView is a copy of an order's state.
type OrderView struct {
	Number        string
	Status        OrderStatus
	StartGUID     string
	SessionID     string
	TransactionID string
	RedirectURL   string
	Installment   int
	PaidAmount    Amount // what the return or webhook said was taken
	Return        *Return
	Returns       int // return POSTs received
	Webhooks      []Webhook
	Purchase      *Operation
	Errors        map[string][]string // shown on the next checkout page
}

func newOrder(pk int, number, token string, spec OrderSpec) *Order {
	return &Order{PK: pk, Number: number, Token: token, Spec: spec,
		changed: make(chan struct{}),
		view:    OrderView{Number: number, Status: OrderOpen}}
}

// View returns a copy of the order's state.
func (o *Order) View() OrderView {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.view.clone()
}

func (v OrderView) clone() OrderView {
	c := v
	c.Webhooks = append([]Webhook(nil), v.Webhooks...)
	if v.Return != nil {
		r := *v.Return
		c.Return = &r
	}
	if v.Purchase != nil {
		p := *v.Purchase
		c.Purchase = &p
	}
	return c
}

// update changes the order and wakes its waiters.
func (o *Order) update(f func(v *OrderView)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f(&o.view)
	close(o.changed)
	o.changed = make(chan struct{})
}

// Wait blocks until cond holds for the order or ctx ends, and returns the
// last view either way.
func (o *Order) Wait(ctx context.Context, cond func(OrderView) bool) (OrderView, error) {
	for {
		o.mu.Lock()
		v, ch := o.view.clone(), o.changed
		o.mu.Unlock()
		if cond(v) {
			return v, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return v, fmt.Errorf("order %s: %w", o.Number, ctx.Err())
		}
	}
}
