package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/idempotency"
	"github.com/akinon-gateway/gateway/provider"
)

// ClaimDoubts implements provider.Store: one script per shard claims the
// entries past their deadline, as ClaimDue does for a schedule.
func (s *Store) ClaimDoubts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]provider.Doubt, error) {
	var out []provider.Doubt
	claim := now.Add(lease).UnixMilli()
	err := s.claimEach(ctx, "claim doubts", func(tag string) string { return tag + ":doubt" }, now, lease, limit,
		func(_, member string) bool {
			d, ok := parseDoubt(member)
			if ok {
				d.Claim = claim
				out = append(out, d)
			}
			return ok
		})
	return out, err
}

// rescoreDoubt moves a claimed entry (score still the claim's) to a new
// score, or drops it when the new score is empty: anything else means
// the entry was claimed again meanwhile, and it is left alone.
var rescoreDoubt = redis.NewScript(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
`)

// DoubtfulOperation implements provider.Store: the guid record and the
// session, in one round trip (they share a slot).
func (s *Store) DoubtfulOperation(ctx context.Context, d provider.Doubt) (provider.Running, *provider.Session, error) {
	k := s.order(d.Merchant, d.OrderID)
	pipe := s.rdb.Pipeline()
	rec := idempotency.Record
	fields := pipe.HMGet(ctx, k.guid(d.Merchant, d.ID), rec.State, rec.Fingerprint, rec.Action, rec.Amount, rec.Token)
	sess := pipe.HGetAll(ctx, k.session)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return provider.Running{}, nil, translate("doubtful operation", err)
	}
	v := fields.Val()
	if len(v) < 5 || v[0] != "run" {
		return provider.Running{}, nil, fmt.Errorf("redisstore: guid %s: %w", d.ID, provider.ErrNotFound)
	}
	str := func(i int) string { s, _ := v[i].(string); return s }
	amount, _ := strconv.ParseInt(str(3), 10, 64)
	run := provider.Running{Fingerprint: str(1), Action: provider.Action(str(2)), Amount: provider.Money(amount), Token: str(4)}
	flat := make([]any, 0, 2*len(sess.Val()))
	for f, val := range sess.Val() {
		flat = append(flat, f, val)
	}
	session, err := decodeSession(flat)
	return run, session, err
}

// DropDoubt implements provider.Store.
func (s *Store) DropDoubt(ctx context.Context, d provider.Doubt) error {
	k := s.order(d.Merchant, d.OrderID)
	err := rescoreDoubt.Run(ctx, s.rdb, []string{k.doubt()}, doubtMember(d.Kind, d.Merchant, d.OrderID, d.ID), d.Claim, "").Err()
	return translate("drop doubt", err)
}

// PostponeDoubt implements provider.Store.
func (s *Store) PostponeDoubt(ctx context.Context, d provider.Doubt, at time.Time) error {
	k := s.order(d.Merchant, d.OrderID)
	err := rescoreDoubt.Run(ctx, s.rdb, []string{k.doubt()}, doubtMember(d.Kind, d.Merchant, d.OrderID, d.ID), d.Claim, at.UnixMilli()).Err()
	return translate("postpone doubt", err)
}

// Doubts implements provider.Store: every shard's entries, with the
// action of each operation read from its guid record.
func (s *Store) Doubts(ctx context.Context) ([]provider.Doubt, error) {
	var out []provider.Doubt
	for _, tag := range s.tags() {
		zs, err := s.rdb.ZRangeWithScores(ctx, tag+":doubt", 0, -1).Result()
		if err != nil {
			return nil, translate("doubts", err)
		}
		var shard []provider.Doubt
		var actions []*redis.StringCmd
		pipe := s.rdb.Pipeline()
		for _, z := range zs {
			m, _ := z.Member.(string)
			d, ok := parseDoubt(m)
			if !ok {
				continue
			}
			d.Deadline = time.UnixMilli(int64(z.Score))
			shard = append(shard, d)
			var c *redis.StringCmd
			if d.Kind == provider.DoubtOperation {
				c = pipe.HGet(ctx, s.order(d.Merchant, d.OrderID).guid(d.Merchant, d.ID), idempotency.Record.Action)
			}
			actions = append(actions, c)
		}
		if pipe.Len() > 0 {
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return nil, translate("doubts", err)
			}
		}
		for i, c := range actions {
			if c != nil {
				shard[i].Action = provider.Action(c.Val())
			}
		}
		out = append(out, shard...)
	}
	return out, nil
}
