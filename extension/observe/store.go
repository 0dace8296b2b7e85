package observe

import (
	"context"
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
