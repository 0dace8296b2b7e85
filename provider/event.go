package provider

import (
	"time"

	"github.com/google/uuid"
)

// Event is a status change Akinon did not ask for: the shopper's payment
// decided, a PENDING payment resolved, a session expired unpaid. Akinon
// learns of it only by webhook, so the store writes the event in the same
// atomic step as the change itself.
type Event struct {
	ID            string
	Merchant      string
	OrderID       string
	SessionID     string
	TransactionID string
	State         State
	Amount        Money
	Currency      string
	Installment   int
	At            time.Time
	Cause         string // "payment", "pending_resolved", "expired": for logs and operators
}

// Causes of events.
const (
	CausePayment         = "payment"
	CausePendingResolved = "pending_resolved"
	CauseExpired         = "expired"
)

// EventEncoder turns an event into the webhook that will carry it, signed
// for the merchant. ok is false when the merchant has no webhook, and then
// no event is kept.
type EventEncoder interface {
	Encode(Event) (out Outgoing, ok bool, err error)
}

// Outgoing is an encoded event, ready for the store's outbox.
type Outgoing struct {
	ID    string
	Body  []byte
	Delay time.Duration // before the first attempt
}

// SetEvents makes the service emit events through enc; without it no
// event is kept (webhooks disabled).
func (s *Service) SetEvents(enc EventEncoder) { s.events = enc }

// event builds and encodes the event of a session's change, or nil.
func (s *Service) event(sess *Session, cause string, now time.Time) (*Outgoing, error) {
	if s.events == nil {
		return nil, nil
	}
	e := Event{
		ID:            uuid.NewString(),
		Merchant:      sess.Merchant,
		OrderID:       sess.OrderID,
		SessionID:     sess.ID,
		TransactionID: sess.TransactionID,
		State:         sess.State(),
		Amount:        sess.PaidAmount(),
		Currency:      sess.Currency,
		Installment:   max(sess.Installment, 1),
		At:            now,
		Cause:         cause,
	}
	out, ok, err := s.events.Encode(e)
	if err != nil || !ok {
		return nil, err
	}
	return &out, nil
}

// PaidAmount is what the payment took, interest included, or the amount
// asked when nothing was taken: the amount the return POST and webhooks
// report.
func (s *Session) PaidAmount() Money {
	if s.Authorised > 0 {
		return s.Authorised
	}
	return s.Amount
}
