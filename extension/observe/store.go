package observe

import (
	"context"
	"errors"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// store is a Store that counts what each guid's arrival found and the
// store's failures.
type store struct {
	provider.Store
	m *Metrics
}

// Store wraps s for the metrics.
func Store(s provider.Store, m *Metrics) provider.Store { return &store{Store: s, m: m} }

var idempotencyOutcome = map[provider.BegunKind]string{
	provider.Claimed:  "new",
	provider.Replayed: "replayed",
	provider.InFlight: "in_flight",
	provider.Reused:   "reused",
	provider.Refused:  "refused",
	provider.Busy:     "order_busy",
}

func (s *store) Begin(ctx context.Context, in provider.BeginInput) (provider.Begun, error) {
	b, err := s.Store.Begin(ctx, in)
	s.m.storeError("begin", err)
	if err == nil {
		s.m.idempotency.WithLabelValues(idempotencyOutcome[b.Kind]).Inc()
	}
	return b, err
}

func (s *store) Replayed(ctx context.Context, c provider.Claim, ttl time.Duration) (provider.Reply, bool, error) {
	r, ok, err := s.Store.Replayed(ctx, c, ttl)
	s.m.storeError("replay", err)
	if ok {
		s.m.idempotency.WithLabelValues(idempotencyOutcome[provider.Replayed]).Inc()
	}
	return r, ok, err
}

func (s *store) Finish(ctx context.Context, in provider.FinishInput) (provider.Reply, error) {
	r, err := s.Store.Finish(ctx, in)
	s.m.storeError("finish", err)
	return r, err
}

func (s *store) ClaimPayment(ctx context.Context, in provider.PaymentClaim) (*provider.Session, error) {
	sess, err := s.Store.ClaimPayment(ctx, in)
	var refused *provider.Error
	if !asError(err, &refused) {
		s.m.storeError("claim_payment", err)
	}
	return sess, err
}

func (s *store) SettlePayment(ctx context.Context, in provider.PaymentSettlement) (*provider.Session, error) {
	sess, err := s.Store.SettlePayment(ctx, in)
	s.m.storeError("settle_payment", err)
	return sess, err
}

func (s *store) Session(ctx context.Context, id string) (*provider.Session, error) {
	sess, err := s.Store.Session(ctx, id)
	s.m.storeError("session", err)
	return sess, err
}

func (s *store) ClaimDoubts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]provider.Doubt, error) {
	ds, err := s.Store.ClaimDoubts(ctx, now, lease, limit)
	s.m.storeError("claim_doubts", err)
	return ds, err
}

// The operator's reads and actions (provider.Records) count their store
// failures like the payment's steps.

// counted counts call's failure.
func counted[T any](m *Metrics, call string, do func() (T, error)) (T, error) {
	v, err := do()
	m.storeError(call, err)
	return v, err
}

func (s *store) Order(ctx context.Context, merchant, orderID string) (*provider.Session, error) {
	return counted(s.m, "order", func() (*provider.Session, error) { return s.Store.Order(ctx, merchant, orderID) })
}

func (s *store) Orders(ctx context.Context, keys []provider.OrderKey) ([]*provider.Session, []error) {
	sessions, errs := s.Store.Orders(ctx, keys)
	// One call, counted once: by its first failure other than a missing order.
	for _, err := range errs {
		if err != nil && !errors.Is(err, provider.ErrNotFound) {
			s.m.storeError("orders", err)
			break
		}
	}
	return sessions, errs
}

func (s *store) Steps(ctx context.Context, merchant, orderID string) ([]provider.Step, error) {
	return counted(s.m, "steps", func() ([]provider.Step, error) { return s.Store.Steps(ctx, merchant, orderID) })
}

func (s *store) OrderOfGUID(ctx context.Context, merchant, guid string) (string, error) {
	return counted(s.m, "order_of_guid", func() (string, error) { return s.Store.OrderOfGUID(ctx, merchant, guid) })
}

func (s *store) OrderEvents(ctx context.Context, merchant, orderID string) ([]provider.EventLog, error) {
	return counted(s.m, "order_events", func() ([]provider.EventLog, error) { return s.Store.OrderEvents(ctx, merchant, orderID) })
}

func (s *store) DeadLetters(ctx context.Context, limit int) ([]provider.OutboxEvent, error) {
	return counted(s.m, "dead_letters", func() ([]provider.OutboxEvent, error) { return s.Store.DeadLetters(ctx, limit) })
}

func (s *store) Event(ctx context.Context, id string) (provider.OutboxEvent, []provider.Attempt, error) {
	ev, attempts, err := s.Store.Event(ctx, id)
	s.m.storeError("event", err)
	return ev, attempts, err
}

func (s *store) ReplayEvent(ctx context.Context, id string, now time.Time) (bool, error) {
	return counted(s.m, "replay_event", func() (bool, error) { return s.Store.ReplayEvent(ctx, id, now) })
}

func (s *store) ReplayDead(ctx context.Context, now time.Time) (int, error) {
	return counted(s.m, "replay_dead", func() (int, error) { return s.Store.ReplayDead(ctx, now) })
}

func (s *store) OutboxStats(ctx context.Context, now time.Time) (provider.OutboxStats, error) {
	return counted(s.m, "outbox_stats", func() (provider.OutboxStats, error) { return s.Store.OutboxStats(ctx, now) })
}
