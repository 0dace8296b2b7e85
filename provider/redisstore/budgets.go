package redisstore

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
)

// Budgets are the throttles' budgets in Redis (GCRA, go-redis/redis_rate),
// so every replica spends from the same ones.
type Budgets struct {
	limiter *redis_rate.Limiter
	prefix  string
}

var _ provider.Budgets = (*Budgets)(nil)

// NewBudgets counts in rdb, under keys prefix:key.
func NewBudgets(rdb redis.UniversalClient, prefix string) *Budgets {
	return &Budgets{limiter: redis_rate.NewLimiter(rdb), prefix: prefix}
}

func rate(l provider.Limit) redis_rate.Limit {
	return redis_rate.Limit{Rate: l.Count, Burst: l.Count, Period: l.Per}
}

// Spend takes one from key's budget.
func (b *Budgets) Spend(ctx context.Context, key string, l provider.Limit) (time.Duration, error) {
	res, err := b.limiter.Allow(ctx, b.prefix+":"+key, rate(l))
	if err != nil || res.Allowed > 0 {
		return 0, err
	}
	return max(res.RetryAfter, time.Nanosecond), nil
}

// Left asks how long until key's budget has one, spending nothing.
func (b *Budgets) Left(ctx context.Context, key string, l provider.Limit) (time.Duration, error) {
	res, err := b.limiter.AllowN(ctx, b.prefix+":"+key, rate(l), 0)
	if err != nil || res.Remaining >= 1 {
		return 0, err
	}
	// The budget refills one every Per/Count; ResetAfter is when it is
	// whole again, Count-1 emissions after the first is back.
	every := l.Per / time.Duration(l.Count)
	return max(res.ResetAfter-time.Duration(l.Count-1)*every, time.Nanosecond), nil
}
