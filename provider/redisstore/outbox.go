package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
)

// ClaimEvents hands out up to limit due webhooks, each to this caller
// only until lease runs out.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]provider.OutboxEvent, error) {
	claim := now.Add(lease).UnixMilli()
	byTag := map[string][]string{}
	var tags []string
	err := s.claimEach(ctx, "claim events", outboxDue, now, lease, limit, func(tag, id string) bool {
		if byTag[tag] == nil {
			tags = append(tags, tag)
		}
		byTag[tag] = append(byTag[tag], id)
		return true
	})
	var out []provider.OutboxEvent
	for _, tag := range tags {
		events, rerr := s.readEvents(ctx, tag, byTag[tag])
		if rerr != nil {
			return out, rerr
		}
		for _, ev := range events {
			if ev.Body == nil {
				// Its hash is gone (an operator deleted it): nothing to send.
				s.rdb.ZRem(ctx, outboxDue(tag), ev.ID)
				continue
			}
			ev.Claim = claim
			out = append(out, ev)
		}
	}
	return out, err
}

// readEvents reads event hashes of one shard in one round trip.
func (s *Store) readEvents(ctx context.Context, tag string, ids []string) ([]provider.OutboxEvent, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, eventKey(tag, id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, translate("read events", err)
	}
	out := make([]provider.OutboxEvent, len(ids))
	for i, c := range cmds {
		out[i] = decodeEvent(tag, ids[i], c.Val())
	}
	return out, nil
}

func decodeEvent(tag, id string, h map[string]string) provider.OutboxEvent {
	d := decoder{h: h}
	ev := provider.OutboxEvent{
		ID:       id,
		Merchant: h["merchant"],
		OrderID:  h["order"],
		Tries:    int(d.int("tries")),
		Attempts: int(d.int("attempts")),
		State:    h["state"],
		Created:  d.time("created"),
		Next:     d.time("next"),
		Shard:    tag,
	}
	if b, ok := h["body"]; ok {
		ev.Body = []byte(b)
	}
	return ev
}

// RecordAttempt logs an attempt and moves the event on. It reports false
// when the caller no longer held the claim, and then changes nothing.
func (s *Store) RecordAttempt(ctx context.Context, ev provider.OutboxEvent, a provider.Attempt, next, now time.Time, retention time.Duration) (bool, error) {
	line, _ := json.Marshal(a)
	keys := []string{outboxDue(ev.Shard), eventKey(ev.Shard, ev.ID), attemptsKey(ev.Shard, ev.ID), outboxDead(ev.Shard)}
	args := recordAttemptArgs{ID: ev.ID, Claim: ev.Claim, Outcome: a.Outcome, Attempt: string(line),
		Next: msOrZero(next), Now: now.UnixMilli(), Retention: retention.Milliseconds()}
	n, err := recordAttemptScript.Run(ctx, s.rdb, keys, named(args)).Int()
	if err != nil {
		return false, translate("record attempt", err)
	}
	return n == 1, nil
}

// Release gives claimed events back at once, for a replica that stops
// before sending them.
func (s *Store) Release(ctx context.Context, evs []provider.OutboxEvent, now time.Time) error {
	var errs []error
	for _, ev := range evs {
		err := releaseScript.Run(ctx, s.rdb, []string{outboxDue(ev.Shard)}, ev.ID, ev.Claim, now.UnixMilli()).Err()
		errs = append(errs, translate("release", err))
	}
	return errors.Join(errs...)
}

// releaseScript makes a claimed event due now, only while the claim is
// the caller's (its score is still the claim's).
var releaseScript = redis.NewScript(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
`)

// DeadLetters lists parked events, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]provider.OutboxEvent, error) {
	var out []provider.OutboxEvent
	for _, tag := range s.tags() {
		zs, err := s.rdb.ZRevRangeWithScores(ctx, outboxDead(tag), 0, int64(limit-1)).Result()
		if err != nil {
			return nil, translate("dead letters", err)
		}
		ids := make([]string, len(zs))
		for i, z := range zs {
			ids[i], _ = z.Member.(string)
		}
		evs, err := s.readEvents(ctx, tag, ids)
		if err != nil {
			return nil, err
		}
		for i := range evs {
			evs[i].ParkedAt = time.UnixMilli(int64(zs[i].Score))
		}
		out = append(out, evs...)
	}
	return out, nil
}

// Event reads one event and its attempts in one transaction, so the
// state shown is the one its last attempt left: read apart, an attempt
// recorded between the two reads shows beside the state before it.
func (s *Store) Event(ctx context.Context, id string) (provider.OutboxEvent, []provider.Attempt, error) {
	for _, tag := range s.tags() {
		var hc *redis.MapStringStringCmd
		var lc *redis.StringSliceCmd
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			hc = p.HGetAll(ctx, eventKey(tag, id))
			lc = p.LRange(ctx, attemptsKey(tag, id), 0, -1)
			return nil
		})
		if err != nil {
			return provider.OutboxEvent{}, nil, translate("event", err)
		}
		h, lines := hc.Val(), lc.Val()
		if len(h) == 0 {
			continue
		}
		attempts := make([]provider.Attempt, 0, len(lines))
		for _, l := range lines {
			var a provider.Attempt
			if json.Unmarshal([]byte(l), &a) == nil {
				attempts = append(attempts, a)
			}
		}
		return decodeEvent(tag, id, h), attempts, nil
	}
	return provider.OutboxEvent{}, nil, fmt.Errorf("redisstore: event %s: %w", id, provider.ErrNotFound)
}

// ReplayEvent sends a parked event again from the start of the schedule.
// It reports false for an event that is not parked.
func (s *Store) ReplayEvent(ctx context.Context, id string, now time.Time) (bool, error) {
	for _, tag := range s.tags() {
		res, err := replayEventScript.Run(ctx, s.rdb, []string{outboxDue(tag), eventKey(tag, id), outboxDead(tag)}, id, now.UnixMilli()).Text()
		if err != nil {
			return false, translate("replay", err)
		}
		switch res {
		case "replayed":
			return true, nil
		case "":
			continue
		default:
			return false, nil
		}
	}
	return false, fmt.Errorf("redisstore: event %s: %w", id, provider.ErrNotFound)
}

// ReplayDead sends every parked event again and says how many.
func (s *Store) ReplayDead(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for _, tag := range s.tags() {
		ids, err := s.rdb.ZRange(ctx, outboxDead(tag), 0, -1).Result()
		if err != nil {
			return n, translate("replay dead", err)
		}
		for _, id := range ids {
			res, err := replayEventScript.Run(ctx, s.rdb, []string{outboxDue(tag), eventKey(tag, id), outboxDead(tag)}, id, now.UnixMilli()).Text()
			if err != nil {
				return n, translate("replay dead", err)
			}
			if res == "replayed" {
				n++
			}
		}
	}
	return n, nil
}

// OutboxStats reports the outbox's depth, its oldest due attempt and the
// dead letters.
func (s *Store) OutboxStats(ctx context.Context, now time.Time) (provider.OutboxStats, error) {
	var st provider.OutboxStats
	for _, tag := range s.tags() {
		pipe := s.rdb.Pipeline()
		depth := pipe.ZCard(ctx, outboxDue(tag))
		oldest := pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: outboxDue(tag), Start: "-inf",
			Stop: strconv.FormatInt(now.UnixMilli(), 10), ByScore: true, Count: 1})
		dead := pipe.ZCard(ctx, outboxDead(tag))
		if _, err := pipe.Exec(ctx); err != nil {
			return st, translate("outbox stats", err)
		}
		st.Depth += depth.Val()
		st.Dead += dead.Val()
		if zs := oldest.Val(); len(zs) > 0 {
			at := time.UnixMilli(int64(zs[0].Score))
			if st.OldestDue.IsZero() || at.Before(st.OldestDue) {
				st.OldestDue = at
			}
		}
	}
	return st, nil
}
