package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
)

// Durability is how many replicas must hold a write an answer depends on
// before the answer is given. With Sentinel or Cluster a master can fail
// over before it has passed its latest writes on; an answer given then
// would vanish with them.
type Durability struct {
	MinReplicas int           // 0: a single node, nothing to wait for
	Timeout     time.Duration // how long to wait for them
	AOF         bool          // also wait for the local and replica AOF fsync (WAITAOF, Redis 7.2+)
	// Follow is how long a write may spend finding a master that is
	// gone (a dial error, a timeout, MOVED): asking the sentinels or
	// reloading the Cluster's slot map, then running on the new master.
	Follow time.Duration
	// Sentinel counts the replicas of a Sentinel group's master; a
	// Cluster's are read from its node table.
	Sentinel *SentinelCensus
}

// FollowMaster is how long a write spends following a master that is
// gone to the next one: a Cluster promotes a replica within its node
// timeout and a vote, Sentinel within down-after-milliseconds and a vote.
const FollowMaster = 3 * time.Second

// ErrNotDurable is a write the master took that fewer replicas than
// required acknowledged in time: it may be lost in a failover.
var ErrNotDurable = errors.New("the write was not acknowledged by enough replicas")

// SetDurability makes every write an answer depends on wait for
// replicas: Begin (the claim, the reservation, start-session's reply),
// Finish (the reply) and SettlePayment (the shopper's outcome). It waits
// for every replica the topology counts as up, and at least MinReplicas.
func (s *Store) SetDurability(d Durability) {
	s.durability = d
	s.census = nil
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		s.census = newCensusCache(clusterCensus{c})
	default:
		if d.Sentinel != nil {
			s.census = newCensusCache(d.Sentinel)
		}
	}
}

// required is how many replicas must acknowledge a write on the master
// at addr — every replica in sync, and at least MinReplicas — and how
// long to wait for them: not at all when fewer than MinReplicas are
// known (up, in sync or not) or a failover is under way, so a master
// that lost its replicas refuses at once (and replays what it answered
// before without waiting).
func (s *Store) required(ctx context.Context, addr string) (int, time.Duration) {
	if s.census == nil {
		return s.durability.MinReplicas, s.durability.Timeout
	}
	up := s.census.up(ctx, addr)
	switch {
	case up.known < s.durability.MinReplicas:
		return s.durability.MinReplicas, time.Millisecond
	case up.synced >= failoverRunning:
		return up.synced, time.Millisecond
	}
	return max(s.durability.MinReplicas, up.synced), s.durability.Timeout
}

// durable runs a script and, when replicas are required, WAIT (or
// WAITAOF) in the same pipeline on the same connection: one round trip,
// and WAIT covers exactly this connection's writes. A write that is not
// acknowledged in time is ErrNotDurable; the caller decides what the
// answer may then say.
//
// A master that cannot be reached or has moved is followed: the write
// runs again on the master the topology names next, for up to
// Durability.Follow. Every script is safe to run twice (a run that
// finds its own token answers what the first did).
func (s *Store) durable(ctx context.Context, script *redis.Script, keys []string, args ...any) (any, error) {
	return s.durably(ctx, keys[0], func(n node, full bool) *redis.Cmd {
		if full {
			return script.Eval(ctx, n, keys, args...)
		}
		return script.EvalSha(ctx, n, keys, args...)
	})
}

// command is what durably runs on a node: a script (by its digest, or
// whole when full, after NOSCRIPT) or a plain command.
type command func(n node, full bool) *redis.Cmd

// node is a client or a pipeline: what a command runs on.
type node interface {
	redis.Cmdable
	Do(ctx context.Context, args ...any) *redis.Cmd
}

// durably runs cmd on the master of key as durable runs a script.
func (s *Store) durably(ctx context.Context, key string, cmd command) (any, error) {
	if s.durability.MinReplicas <= 0 {
		v, err := cmd(s.rdb, false).Result()
		if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			v, err = cmd(s.rdb, true).Result()
		}
		return v, err
	}
	deadline := time.Now().Add(s.durability.Follow)
	for {
		on, addr, err := s.nodeFor(ctx, key)
		var v any
		if err == nil {
			need, wait := s.required(ctx, addr)
			v, err = s.runAndWait(ctx, on, need, wait, cmd, false)
			if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
				v, err = s.runAndWait(ctx, on, need, wait, cmd, true)
			}
		}
		if err == nil || errors.Is(err, ErrNotDurable) || !masterGone(err) || time.Now().After(deadline) {
			return v, err
		}
		if !s.follow(ctx, key, addr, deadline) {
			return v, err
		}
	}
}

// masterGone is an error after which another master may take the write:
// the connection failed, or the node is not (or no longer) the master.
func masterGone(err error) bool {
	if errors.Is(err, ErrNotDurable) || strings.Contains(err.Error(), "NOREPLICAS") || strings.Contains(err.Error(), "OOM ") {
		return false
	}
	return unavailable(err)
}

// follow waits, until deadline, for the topology to name a master for
// key other than the one at failed: a Cluster's slot map is reloaded;
// a Sentinel client asks the sentinels on its next dial, so it only
// waits a moment. It reports whether to try again.
func (s *Store) follow(ctx context.Context, key, failed string, deadline time.Time) bool {
	cc, isCluster := s.rdb.(*redis.ClusterClient)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return false
		}
		if !isCluster {
			time.Sleep(100 * time.Millisecond)
			return true
		}
		cc.ReloadState(ctx)
		time.Sleep(50 * time.Millisecond)
		if c, err := cc.MasterForKey(ctx, key); err == nil && c.Options().Addr != failed {
			return true
		}
	}
	return false
}

func (s *Store) runAndWait(ctx context.Context, on node, need int, wait time.Duration, cmd command, full bool) (any, error) {
	var run *redis.Cmd
	var acked func() (int64, error)
	// Each command's own error is read below, not the pipeline's first.
	_, _ = on.Pipelined(ctx, func(p redis.Pipeliner) error {
		run = cmd(p, full)
		ms := wait.Milliseconds()
		if s.durability.AOF {
			// WAITAOF numlocal numreplicas timeout → [local fsynced, replicas fsynced]
			w := p.Do(ctx, "WAITAOF", 1, need, ms)
			acked = func() (int64, error) {
				v, err := w.Int64Slice()
				if err != nil || len(v) < 2 {
					return 0, err
				}
				if v[0] < 1 {
					return 0, nil
				}
				return v[1], nil
			}
		} else {
			w := p.Do(ctx, "WAIT", need, ms)
			acked = w.Int64
		}
		return nil
	})
	if rerr := run.Err(); rerr != nil {
		return nil, rerr
	}
	// The script ran: an error left in the pipeline is the WAIT's own,
	// such as UNBLOCKED when a failover demotes the master while the WAIT
	// blocks. The write happened; whether a replica holds it is unknown.
	n, werr := acked()
	if werr != nil {
		return run.Val(), fmt.Errorf("%w: %v", ErrNotDurable, werr)
	}
	if need >= failoverRunning {
		return run.Val(), fmt.Errorf("%w: a failover is under way", ErrNotDurable)
	}
	if n < int64(need) {
		return run.Val(), fmt.Errorf("%w: %d of %d replicas in %s", ErrNotDurable, n, need, wait)
	}
	return run.Val(), nil
}

// nodeFor is where a key's writes go, as a client whose pipelines use one
// connection, and its address: the master of the key's slot on a
// Cluster; the (current) master otherwise, whose address is "" (a
// Sentinel client finds it when it dials).
func (s *Store) nodeFor(ctx context.Context, key string) (node, string, error) {
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			return nil, "", err
		}
		return m, m.Options().Addr, nil
	case *redis.Client:
		return c, "", nil
	}
	return nil, "", fmt.Errorf("redisstore: cannot wait for replicas on a %T", s.rdb)
}

// notDurable turns ErrNotDurable into the domain's: the write may be lost,
// which callers treat as the store having failed.
func notDurable(op string, err error) error {
	if errors.Is(err, ErrNotDurable) {
		return fmt.Errorf("redisstore: %s: %w: %v", op, provider.ErrNotDurable, err)
	}
	return translate(op, err)
}
