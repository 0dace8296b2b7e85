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
}

// ErrNotDurable is a write the master took that fewer replicas than
// required acknowledged in time: it may be lost in a failover.
var ErrNotDurable = errors.New("the write was not acknowledged by enough replicas")

// SetDurability makes every write an answer depends on wait for
// replicas: Begin (the claim, the reservation, start-session's reply),
// Finish (the reply) and SettlePayment (the shopper's outcome).
func (s *Store) SetDurability(d Durability) { s.durability = d }

// durable runs a script and, when replicas are required, WAIT (or
// WAITAOF) in the same pipeline on the same connection: one round trip,
// and WAIT covers exactly this connection's writes. A write that is not
// acknowledged in time is ErrNotDurable; the caller decides what the
// answer may then say.
func (s *Store) durable(ctx context.Context, script *redis.Script, keys []string, args ...any) (any, error) {
	if s.durability.MinReplicas <= 0 {
		return script.Run(ctx, s.rdb, keys, args...).Result()
	}
	node, err := s.nodeFor(ctx, keys[0])
	if err != nil {
		return nil, err
	}
	v, err := s.evalAndWait(ctx, node, script, keys, args, false)
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		v, err = s.evalAndWait(ctx, node, script, keys, args, true)
	}
	if target, ok := movedTo(err); ok {
		// The slot moved (a failover). The client reloads its slot map in
		// the background; wait for it to name the new master, briefly,
		// then run there.
		if cc, isCluster := s.rdb.(*redis.ClusterClient); isCluster {
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				cc.ReloadState(ctx)
				if c, cerr := cc.MasterForKey(ctx, keys[0]); cerr == nil && c.Options().Addr == target {
					return s.evalAndWait(ctx, c, script, keys, args, true)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	return v, err
}

// movedTo reads the new owner out of a MOVED or ASK error.
func movedTo(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	f := strings.Fields(err.Error())
	if len(f) == 3 && (f[0] == "MOVED" || f[0] == "ASK") {
		return f[2], true
	}
	return "", false
}

func (s *Store) evalAndWait(ctx context.Context, node redis.Cmdable, script *redis.Script, keys []string, args []any, full bool) (any, error) {
	var run *redis.Cmd
	var acked func() (int64, error)
	// Each command's own error is read below, not the pipeline's first.
	_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		if full {
			run = script.Eval(ctx, p, keys, args...)
		} else {
			run = script.EvalSha(ctx, p, keys, args...)
		}
		ms := s.durability.Timeout.Milliseconds()
		if s.durability.AOF {
			// WAITAOF numlocal numreplicas timeout → [local fsynced, replicas fsynced]
			w := p.Do(ctx, "WAITAOF", 1, s.durability.MinReplicas, ms)
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
			w := p.Do(ctx, "WAIT", s.durability.MinReplicas, ms)
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
	if n < int64(s.durability.MinReplicas) {
		return run.Val(), fmt.Errorf("%w: %d of %d replicas in %s", ErrNotDurable, n, s.durability.MinReplicas, s.durability.Timeout)
	}
	return run.Val(), nil
}

// nodeFor is where a key's writes go, as a client whose pipelines use one
// connection: the master of the key's slot on a Cluster, the (current)
// master otherwise.
func (s *Store) nodeFor(ctx context.Context, key string) (redis.Cmdable, error) {
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, key)
	case *redis.Client:
		return c, nil
	}
	return nil, fmt.Errorf("redisstore: cannot wait for replicas on a %T", s.rdb)
}

// notDurable turns ErrNotDurable into the domain's: the write may be lost,
// which callers treat as the store having failed.
func notDurable(op string, err error) error {
	if errors.Is(err, ErrNotDurable) {
		return fmt.Errorf("redisstore: %s: %w: %v", op, provider.ErrNotDurable, err)
	}
	return translate(op, err)
}
