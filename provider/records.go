package provider

import (
	"context"
	"errors"
	"time"
)

// Records are what operators read of the store and do to it beside the
// payment's own steps: an order's history and webhooks, the order of a
// guid, the outbox's dead letters and their replay. The outbox keeps the
// webhook sender's wall-clock time, so its calls take now from the caller.
type Records interface {
	// Steps reads an order's history as stored.
	Steps(ctx context.Context, merchant, orderID string) ([]Step, error)
	// OrderOfGUID names the order a merchant's guid was used on.
	OrderOfGUID(ctx context.Context, merchant, guid string) (string, error)
	// OrderEvents reads an order's webhooks with their attempts.
	OrderEvents(ctx context.Context, merchant, orderID string) ([]EventLog, error)
	// DeadLetters lists up to limit parked webhooks, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]OutboxEvent, error)
	// Event reads one webhook with its attempts.
	Event(ctx context.Context, id string) (OutboxEvent, []Attempt, error)
	// ReplayEvent puts a parked webhook back on its schedule; false when
	// it is not parked.
	ReplayEvent(ctx context.Context, id string, now time.Time) (bool, error)
	// ReplayDead replays every dead letter and says how many.
	ReplayDead(ctx context.Context, now time.Time) (int, error)
	// OutboxStats is the outbox at a glance.
	OutboxStats(ctx context.Context, now time.Time) (OutboxStats, error)
}

// The operator's reads and actions go through the service, so its store
// (and the metrics around it) sees them as it sees a payment's. Their
// errors are the store's: ErrNotFound, ErrUnavailable.

// Order reads an order's current session.
func (s *Service) Order(ctx context.Context, merchant, orderID string) (*Session, error) {
	return s.store.Order(ctx, merchant, orderID)
}

// Steps reads an order's history as stored.
func (s *Service) Steps(ctx context.Context, merchant, orderID string) ([]Step, error) {
	return s.store.Steps(ctx, merchant, orderID)
}

// OrderEvents reads an order's webhooks with their attempts.
func (s *Service) OrderEvents(ctx context.Context, merchant, orderID string) ([]EventLog, error) {
	return s.store.OrderEvents(ctx, merchant, orderID)
}

// DeadLetters lists up to limit parked webhooks.
func (s *Service) DeadLetters(ctx context.Context, limit int) ([]OutboxEvent, error) {
	return s.store.DeadLetters(ctx, limit)
}

// Event reads one webhook with its attempts.
func (s *Service) Event(ctx context.Context, id string) (OutboxEvent, []Attempt, error) {
	return s.store.Event(ctx, id)
}

// ReplayEvent puts a parked webhook back on its schedule.
func (s *Service) ReplayEvent(ctx context.Context, id string, now time.Time) (bool, error) {
	return s.store.ReplayEvent(ctx, id, now)
}

// ReplayDead replays every dead letter.
func (s *Service) ReplayDead(ctx context.Context, now time.Time) (int, error) {
	return s.store.ReplayDead(ctx, now)
}

// OutboxStats is the outbox at a glance.
func (s *Service) OutboxStats(ctx context.Context, now time.Time) (OutboxStats, error) {
	return s.store.OutboxStats(ctx, now)
}

// OrderQuery names orders the way an operator searches for them: by
// session id, or by guid or order id at the merchants given.
type OrderQuery struct {
	Merchants                []string
	OrderID, SessionID, GUID string
}

// OrderRef names one order.
type OrderRef struct{ Merchant, OrderID string }

// FindOrders lists the orders a query names (a session id first, then a
// guid, then an order id); none is an empty list, not an error.
func (s *Service) FindOrders(ctx context.Context, q OrderQuery) ([]OrderRef, error) {
	var found []OrderRef
	// add records what a lookup found: an order, or nothing.
	add := func(merchant, orderID string, err error) error {
		switch {
		case errors.Is(err, ErrNotFound):
			return nil
		case err != nil:
			return err
		case orderID != "":
			found = append(found, OrderRef{merchant, orderID})
		}
		return nil
	}
	switch {
	case q.SessionID != "":
		sess, err := s.store.Session(ctx, q.SessionID)
		if err != nil {
			return found, add("", "", err)
		}
		return found, add(sess.Merchant, sess.OrderID, nil)
	case q.GUID != "":
		for _, m := range q.Merchants {
			order, err := s.store.OrderOfGUID(ctx, m, q.GUID)
			if err := add(m, order, err); err != nil {
				return nil, err
			}
		}
	case q.OrderID != "":
		for _, m := range q.Merchants {
			_, err := s.store.Order(ctx, m, q.OrderID)
			if err := add(m, q.OrderID, err); err != nil {
				return nil, err
			}
		}
	}
	return found, nil
}
