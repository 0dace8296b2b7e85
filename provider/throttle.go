package provider

import (
	"context"
	"time"
)

// Limit is a budget of Count repeats per Per, refilling evenly; the zero
// Limit is no budget at all (nothing is counted).
type Limit struct {
	Count int
	Per   time.Duration
}

// IsZero says the limit counts nothing.
func (l Limit) IsZero() bool { return l.Count == 0 }

// Budgets count, alike for every replica, what clients repeat: the
// throttles' port, which the Redis store offers. A wait of 0 is "one was
// left"; a refusal always has a wait above 0.
type Budgets interface {
	// Spend takes one from key's budget, or reports how long until one
	// is back when none was left.
	Spend(ctx context.Context, key string, l Limit) (wait time.Duration, err error)
	// Left reports how long until key's budget has one left, spending
	// nothing.
	Left(ctx context.Context, key string, l Limit) (wait time.Duration, err error)
}
