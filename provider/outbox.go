package provider

import (
	"context"
	"time"
)

// Outbox is the store's webhook outbox as its sender works it: claim the
// due events, record each attempt, give back what was not attempted.
type Outbox interface {
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxEvent, error)
	RecordAttempt(ctx context.Context, ev OutboxEvent, a Attempt, next, now time.Time, retention time.Duration) (bool, error)
	Release(ctx context.Context, evs []OutboxEvent, now time.Time) error
}

// OutboxEvent is a webhook waiting in the store's outbox, or one an
// operator looks at.
type OutboxEvent struct {
	ID       string
	Merchant string
	OrderID  string
	Body     []byte
	Tries    int    // attempts made in the current round (a replay starts a new one)
	Attempts int    // attempts made in all
	State    string // pending, delivered, dead, gone
	Created  time.Time
	Next     time.Time // when the next attempt is due
	ParkedAt time.Time // when it became a dead letter

	// Shard and Claim identify the claim for RecordAttempt; callers pass
	// them back untouched.
	Shard string
	Claim int64
}

// Attempt is one delivery attempt, as operators see it.
type Attempt struct {
	N         int    `json:"n"`
	At        string `json:"at"`
	Status    int    `json:"status"` // HTTP status, 0 when there was none
	LatencyMS int64  `json:"latencyMs"`
	Outcome   string `json:"outcome"`
	Error     string `json:"error,omitempty"`
	Location  string `json:"location,omitempty"` // where a 3xx pointed; never followed
	Replica   string `json:"replica"`
}

// What an attempt leads to.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeDead      = "dead" // the schedule is spent: parked for an operator
	OutcomeGone      = "gone" // the receiver answered 410: stop, parked
)

// OutboxStats is the outbox at a glance.
type OutboxStats struct {
	Depth     int64     // events waiting for an attempt
	OldestDue time.Time // the due time of the oldest waiting attempt, zero if none is due
	Dead      int64     // parked events
}

// EventLog is an event with every attempt made to deliver it, as an
// operator reads an order's webhooks.
type EventLog struct {
	Event    OutboxEvent
	Attempts []Attempt
}
