// Package redisstore keeps the provider's sessions, history and guid
// records in Redis. Every state change is one Lua script, so it is atomic
// whatever other replicas do at the same moment.
//
// Keys of one order share a hash tag, {shard}, so a script touching an
// order's session, history and guid records works on Redis Cluster too.
// The shard is a hash of (merchant, orderId) modulo Shards; with the
// default of one shard every key shares one slot, which is what a single
// node or Sentinel wants, and a guid reused on another order is still
// found. A Cluster deployment sets more shards (and must never change the
// number once data exists).
package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/idempotency"
	"github.com/akinon-gateway/gateway/provider"
)

var (
	//go:embed session.lua
	sessionLua string
	//go:embed begin.lua
	beginLua string
	//go:embed finish.lua
	finishLua string
	//go:embed abandon.lua
	abandonLua string
	//go:embed claim_payment.lua
	claimPaymentLua string
	//go:embed release_payment.lua
	releasePaymentLua string
	//go:embed settle_payment.lua
	settlePaymentLua string
	//go:embed refuse_try.lua
	refuseTryLua string
	//go:embed outbox.lua
	outboxLua string
	//go:embed transition.lua
	transitionLua string
	//go:embed claim_due.lua
	claimDueLua string
	//go:embed record_attempt.lua
	recordAttemptLua string
	//go:embed replay_event.lua
	replayEventLua string
)

// Scripts are the idempotency functions and the session helpers followed
// by one script's body; begin.lua is preceded by the state machine.
var (
	sessionPrelude       = expirableLua() + sessionLua
	beginScript          = redis.NewScript(idempotency.Lua + rulesLua() + sessionPrelude + beginLua)
	finishScript         = redis.NewScript(idempotency.Lua + sessionPrelude + finishLua)
	claimPaymentScript   = redis.NewScript(sessionPrelude + claimPaymentLua)
	abandonScript        = redis.NewScript(idempotency.Lua + abandonLua)
	releasePaymentScript = redis.NewScript(releasePaymentLua)
	settlePaymentScript  = redis.NewScript(sessionPrelude + outboxLua + settlePaymentLua)
	refuseTryScript      = redis.NewScript(sessionPrelude + outboxLua + refuseTryLua)
	transitionScript     = redis.NewScript(sessionPrelude + outboxLua + transitionLua)
	claimDueScript       = redis.NewScript(claimDueLua)
	recordAttemptScript  = redis.NewScript(recordAttemptLua)
	replayEventScript    = redis.NewScript(replayEventLua)
)

// Store is the Redis implementation of provider.Store.
type Store struct {
	rdb        redis.UniversalClient
	prefix     string
	shards     int
	durability Durability
	census     *censusCache
	retention  time.Duration
	finished   *finishedGUIDs
}

// SetRetention sets how long an order's keys live after its latest
// change (ORDER_RETENTION).
func (s *Store) SetRetention(d time.Duration) {
	if d > 0 {
		s.retention = d
	}
}

func (s *Store) retentionMS() int64 { return s.retention.Milliseconds() }

var _ provider.Store = (*Store)(nil)

// New returns a store on rdb whose keys start with prefix (tests give each
// test its own) spread over shards hash tags.
func New(rdb redis.UniversalClient, prefix string, shards int) *Store {
	if shards < 1 {
		shards = 1
	}
	if prefix == "" {
		prefix = "gw"
	}
	return &Store{rdb: rdb, prefix: prefix, shards: shards, retention: provider.DefaultRetention,
		finished: newFinishedGUIDs(finishedPerGeneration)}
}

// orderKeys are the keys of one order.
type orderKeys struct {
	tag     string // "prefix:{n}"
	session string
	history string
	settled string // the guids of operations settled on the order
	events  string // the ids of the order's webhook events
}

func (s *Store) shardOf(merchant, order string) int {
	h := fnv.New32a()
	h.Write([]byte(merchant))
	h.Write([]byte{0})
	h.Write([]byte(order))
	return int(h.Sum32() % uint32(s.shards))
}

// Tag is the hash tag of an order's keys: its shard, and on a Cluster
// the slot that holds it.
func (s *Store) Tag(merchant, order string) string { return s.order(merchant, order).tag }

func (s *Store) tag(shard int) string { return s.prefix + ":{" + strconv.Itoa(shard) + "}" }

func (s *Store) order(merchant, order string) orderKeys {
	tag := s.tag(s.shardOf(merchant, order))
	return orderKeys{
		tag:     tag,
		session: tag + ":o:" + merchant + ":" + order,
		history: tag + ":h:" + merchant + ":" + order,
		settled: tag + ":g:" + merchant + ":" + order,
		events:  tag + ":wh:o:" + merchant + ":" + order,
	}
}

func (k orderKeys) guid(merchant, guid string) string { return k.tag + ":i:" + merchant + ":" + guid }
func (k orderKeys) sessionIndex(id string) string     { return k.tag + ":x:" + id }
func (k orderKeys) doubt() string                     { return k.tag + ":doubt" }

// Keys of a shard's schedules and webhook outbox.
func schedule(tag string, s provider.Schedule) string { return tag + ":sched:" + string(s) }
func outboxDue(tag string) string                     { return tag + ":wh:due" }
func outboxDead(tag string) string                    { return tag + ":wh:dead" }
func eventKey(tag, id string) string                  { return tag + ":wh:e:" + id }
func attemptsKey(tag, id string) string               { return tag + ":wh:a:" + id }

// doubtMember is an in-doubt entry: what it is, the order, and the guid
// or session id.
func doubtMember(kind provider.DoubtKind, merchant, order, id string) string {
	return string(kind) + "\n" + merchant + "\n" + order + "\n" + id
}

func parseDoubt(m string) (provider.Doubt, bool) {
	parts := strings.SplitN(m, "\n", 4)
	if len(parts) != 4 {
		return provider.Doubt{}, false
	}
	return provider.Doubt{Kind: provider.DoubtKind(parts[0]), Merchant: parts[1], OrderID: parts[2], ID: parts[3]}, true
}

// member is a schedule entry: the session and the order it belongs to.
func member(d provider.Due) string { return d.Merchant + "\n" + d.OrderID + "\n" + d.SessionID }

func parseMember(m string) (provider.Due, bool) {
	parts := strings.SplitN(m, "\n", 3)
	if len(parts) != 3 {
		return provider.Due{}, false
	}
	return provider.Due{Merchant: parts[0], OrderID: parts[1], SessionID: parts[2]}, true
}

// tags lists every shard's tag.
func (s *Store) tags() []string {
	out := make([]string, s.shards)
	for n := range out {
		out[n] = s.tag(n)
	}
	return out
}

// translate turns Redis errors into the domain's: a connection that
// cannot be made or kept is ErrUnavailable (the service fails closed),
// redis.Nil is ErrNotFound, anything else stays internal.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: %s: %w", op, provider.ErrNotFound)
	}
	if unavailable(err) {
		return fmt.Errorf("redisstore: %s: %w: %v", op, provider.ErrUnavailable, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

func unavailable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, redis.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	msg := err.Error()
	// MOVED and ASK reach here when a Cluster moves a slot faster than the
	// client's redirects follow it (a failover): the store is between
	// masters, not broken.
	for _, s := range []string{"connection refused", "EOF", "broken pipe", "connection reset", "i/o timeout",
		"pool timeout", "LOADING", "OOM ", "MASTERDOWN", "CLUSTERDOWN", "READONLY", "TRYAGAIN", "NOREPLICAS", "no route to host",
		"MOVED ", "ASK ", "UNBLOCKED"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
