package observe

import (
	"context"
	"errors"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// outbox is the webhook sender's outbox, counting every attempt it
// records by outcome and latency.
type outbox struct {
	provider.Outbox
	m *Metrics
}

// Outbox wraps o for the metrics.
func Outbox(o provider.Outbox, m *Metrics) provider.Outbox { return &outbox{Outbox: o, m: m} }

func (o *outbox) RecordAttempt(ctx context.Context, ev provider.OutboxEvent, a provider.Attempt, next, now time.Time, retention time.Duration) (bool, error) {
	o.m.attempts.WithLabelValues(a.Outcome).Inc()
	o.m.attemptTime.Observe(float64(a.LatencyMS) / 1000)
	held, err := o.Outbox.RecordAttempt(ctx, ev, a, next, now, retention)
	o.m.storeError("record_attempt", err)
	return held, err
}

func asError(err error, target **provider.Error) bool { return errors.As(err, target) }
