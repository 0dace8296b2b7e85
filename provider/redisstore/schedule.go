package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
)

// Order implements provider.Store.
func (s *Store) Order(ctx context.Context, merchant, orderID string) (*provider.Session, error) {
	v, err := s.rdb.HGetAll(ctx, s.order(merchant, orderID).session).Result()
	return orderSession(orderID, v, err)
}

// Orders implements provider.Store: one pipeline, which a cluster client
// splits by shard.
func (s *Store) Orders(ctx context.Context, keys []provider.OrderKey) ([]*provider.Session, []error) {
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGetAll(ctx, s.order(k.Merchant, k.OrderID).session)
		}
		return nil
	})
	sessions, errs := make([]*provider.Session, len(keys)), make([]error, len(keys))
	for i, c := range cmds {
		v, err := c.Result()
		sessions[i], errs[i] = orderSession(keys[i].OrderID, v, err)
	}
	return sessions, errs
}

// orderSession reads an order's HGETALL answer.
func orderSession(orderID string, v map[string]string, err error) (*provider.Session, error) {
	if err != nil {
		return nil, translate("order", err)
	}
	sess, err := decodeSessionHash(v)
	if err != nil {
		return nil, err
	}
	if sess == nil {
		return nil, fmt.Errorf("redisstore: order %s: %w", orderID, provider.ErrNotFound)
	}
	return sess, nil
}

// ClaimDue implements provider.Store.
func (s *Store) ClaimDue(ctx context.Context, sched provider.Schedule, now time.Time, lease time.Duration, limit int) ([]provider.Due, error) {
	var out []provider.Due
	err := s.claimEach(ctx, "claim due", func(tag string) string { return schedule(tag, sched) }, now, lease, limit,
		func(_, member string) bool {
			if d, ok := parseMember(member); ok {
				out = append(out, d)
			}
			return true
		})
	return out, err
}

// claimEach hands out up to limit members of a per-shard sorted set that
// are due at now, each to this caller for lease (claim_due.lua: the new
// score is the claim's proof), shard by shard; take says whether a
// member counts against the limit.
//
// A shard that refuses (its master lost its last replica and takes no
// writes) does not hold up the others: their work is handed out, and the
// error is returned only when no shard answered.
func (s *Store) claimEach(ctx context.Context, op string, set func(tag string) string, now time.Time, lease time.Duration, limit int,
	take func(tag, member string) bool) error {
	taken, answered := 0, 0
	var errs []error
	for _, tag := range s.tags() {
		if taken >= limit {
			break
		}
		ids, err := claimDueScript.Run(ctx, s.rdb, []string{set(tag)}, now.UnixMilli(), lease.Milliseconds(), limit-taken).StringSlice()
		if err != nil {
			errs = append(errs, translate(op, err))
			continue
		}
		answered++
		for _, id := range ids {
			if take(tag, id) {
				taken++
			}
		}
	}
	if answered == 0 {
		return errors.Join(errs...)
	}
	return nil
}

// Reschedule implements provider.Store.
func (s *Store) Reschedule(ctx context.Context, sched provider.Schedule, d provider.Due, at time.Time) error {
	k := s.order(d.Merchant, d.OrderID)
	return translate("reschedule", s.rdb.ZAdd(ctx, schedule(k.tag, sched), zmember(at, member(d))).Err())
}

// Unschedule implements provider.Store.
func (s *Store) Unschedule(ctx context.Context, sched provider.Schedule, d provider.Due) error {
	k := s.order(d.Merchant, d.OrderID)
	return translate("unschedule", s.rdb.ZRem(ctx, schedule(k.tag, sched), member(d)).Err())
}

// Transitions implements provider.Store: one pipeline, which a cluster
// client splits by shard. A server that does not know the script yet
// (NOSCRIPT: it restarted or was promoted) refused those calls without
// acting, so they are sent again whole in a second one.
func (s *Store) Transitions(ctx context.Context, ins []provider.Transition) ([]bool, []error) {
	keys, args := make([][]string, len(ins)), make([][]any, len(ins))
	for i, in := range ins {
		keys[i], args[i] = s.transitionCall(in)
	}
	cmds := make([]*redis.Cmd, len(ins))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range ins {
			cmds[i] = transitionScript.EvalSha(ctx, p, keys[i], args[i]...)
		}
		return nil
	})
	var unknown []int
	for i, c := range cmds {
		if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			unknown = append(unknown, i)
		}
	}
	if len(unknown) > 0 {
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range unknown {
				cmds[i] = transitionScript.Eval(ctx, p, keys[i], args[i]...)
			}
			return nil
		})
	}
	applied, errs := make([]bool, len(ins)), make([]error, len(ins))
	for i, c := range cmds {
		v, err := c.Text()
		applied[i], errs[i] = v == "ok", translate("transition", err)
	}
	return applied, errs
}

// transitionCall is one transition's keys and arguments (transition.lua).
func (s *Store) transitionCall(in provider.Transition) ([]string, []any) {
	k := s.order(in.Due.Merchant, in.Due.OrderID)
	from := make([]string, len(in.From))
	for i, p := range in.From {
		from[i] = string(p)
	}
	subs, _ := json.Marshal(in.SubSteps)
	ev := event(in.Event, in.Now)
	args := transitionArgs{SessionID: in.Due.SessionID, From: strings.Join(from, ","), Expired: in.Expired, Member: member(in.Due),
		Step: in.StartStep, Event: ev, Now: in.Now.UnixMilli(), Retention: s.retentionMS(),
		Fields: []string{"phase", string(in.Phase), "rejection", string(in.Rejection), "detail", in.Detail, "paySubSteps", string(subs)}}
	keys := []string{k.session, k.history, schedule(k.tag, in.Schedule), outboxDue(k.tag), eventKey(k.tag, ev.ID), k.events}
	return keys, eventful(named(args), args.Step, args.Event, args.Fields)
}

func zmember(at time.Time, m string) redis.Z {
	return redis.Z{Score: float64(at.UnixMilli()), Member: m}
}
