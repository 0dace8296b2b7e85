package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/idempotency"
	"github.com/akinon-gateway/gateway/provider"
)

// Lookups for operators: an order by a guid used on it, and an order's
// webhooks. Neither is on a request's path.

// OrderOfGUID finds the order a merchant's guid was used on, from the
// guid's record (its field o). The record lives in its order's shard,
// which the guid alone does not name, so every shard is asked, in one
// round trip. ErrNotFound when no record names an order: the guid was
// never used, or its record expired (IDEMPOTENCY_TTL after its reply).
func (s *Store) OrderOfGUID(ctx context.Context, merchant, guid string) (string, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, s.shards)
	for n := range cmds {
		cmds[n] = pipe.HGet(ctx, s.tag(n)+":i:"+merchant+":"+guid, idempotency.Record.Order)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", translate("guid record", err)
	}
	for _, c := range cmds {
		if order, err := c.Result(); err == nil && order != "" {
			return order, nil
		}
	}
	return "", fmt.Errorf("redisstore: guid %s: %w", guid, provider.ErrNotFound)
}

// maxOrderEvents bounds what OrderEvents reads: an order has a few
// events (one per payment outcome), never many.
const maxOrderEvents = 100

// OrderEvents lists an order's webhook events, oldest first, each with
// its attempts and, if parked, when. Events already forgotten (a
// delivered event is kept 7 days) are left out. Two round trips: the
// order's index, then every event at once.
func (s *Store) OrderEvents(ctx context.Context, merchant, order string) ([]provider.EventLog, error) {
	k := s.order(merchant, order)
	ids, err := s.rdb.ZRange(ctx, k.events, -maxOrderEvents, -1).Result()
	if err != nil {
		return nil, translate("order events", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// One transaction, as Event reads: each event's state beside the
	// attempts that led to it.
	pipe := s.rdb.TxPipeline()
	hashes := make([]*redis.MapStringStringCmd, len(ids))
	lines := make([]*redis.StringSliceCmd, len(ids))
	parked := make([]*redis.FloatCmd, len(ids))
	for i, id := range ids {
		hashes[i] = pipe.HGetAll(ctx, eventKey(k.tag, id))
		lines[i] = pipe.LRange(ctx, attemptsKey(k.tag, id), 0, -1)
		parked[i] = pipe.ZScore(ctx, outboxDead(k.tag), id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, translate("order events", err)
	}
	out := make([]provider.EventLog, 0, len(ids))
	for i, id := range ids {
		h := hashes[i].Val()
		if len(h) == 0 {
			continue
		}
		ev := decodeEvent(k.tag, id, h)
		if at, err := parked[i].Result(); err == nil {
			ev.ParkedAt = time.UnixMilli(int64(at))
		}
		log := provider.EventLog{Event: ev, Attempts: make([]provider.Attempt, 0, len(lines[i].Val()))}
		for _, l := range lines[i].Val() {
			var a provider.Attempt
			if json.Unmarshal([]byte(l), &a) == nil {
				log.Attempts = append(log.Attempts, a)
			}
		}
		out = append(out, log)
	}
	return out, nil
}
