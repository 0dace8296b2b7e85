package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrEvicting is a Redis that may evict keys under memory pressure. The
// gateway cannot run on one: an evicted guid record lets a retry run
// again (a second refund), an evicted order answers 404 to money the bank
// holds. Only noeviction refuses writes instead, which the gateway turns
// into a clear 503.
var ErrEvicting = errors.New("maxmemory-policy must be noeviction")

// CheckPolicy reads maxmemory-policy from every master, with INFO memory
// rather than CONFIG GET, because managed Redis services (ElastiCache,
// Memorystore, Azure Cache) disable CONFIG but answer INFO.
func CheckPolicy(ctx context.Context, rdb redis.UniversalClient) error {
	check := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return translate("INFO memory", err)
		}
		policy := infoField(info, "maxmemory_policy")
		switch policy {
		case "noeviction":
			return nil
		case "":
			return fmt.Errorf("redisstore: INFO memory on %s has no maxmemory_policy: cannot prove keys are never evicted", c.Options().Addr)
		}
		return fmt.Errorf("redisstore: %s has maxmemory-policy %q: %w (an evicting Redis forgets guids, reservations and orders; set maxmemory-policy noeviction)",
			c.Options().Addr, policy, ErrEvicting)
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, check)
	}
	if c, ok := rdb.(*redis.Client); ok {
		return check(ctx, c)
	}
	return fmt.Errorf("redisstore: cannot check maxmemory-policy on a %T", rdb)
}

func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// Check is the store's readiness: Redis answers, takes a write in every
// shard (a full Redis refuses them), and, unless skipPolicy (the embedded
// store, which never evicts), will not evict.
func (s *Store) Check(ctx context.Context, replica string, skipPolicy bool) error {
	pipe := s.rdb.Pipeline()
	for _, tag := range s.tags() {
		pipe.Set(ctx, tag+":ready:"+replica, time.Now().UnixMilli(), 30*time.Second)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return translate("write probe", err)
	}
	if skipPolicy {
		return nil
	}
	return CheckPolicy(ctx, s.rdb)
}

// ErrUnwaitedReplicas is a master with replicas under REDIS_MIN_REPLICAS=0:
// nothing waits for them, so a failover can lose answers already given.
var ErrUnwaitedReplicas = errors.New("the master has replicas but REDIS_MIN_REPLICAS is 0")

// CheckReplicas refuses a master that has replicas when min is 0. With
// min of 1 or more every write waits for all the replicas that are up
// (SetDurability), so min is only the floor below which writes stop.
func CheckReplicas(ctx context.Context, rdb redis.UniversalClient, min int) error {
	if min > 0 {
		return nil
	}
	check := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return translate("INFO replication", err)
		}
		if n := infoField(info, "connected_slaves"); n != "" && n != "0" {
			return fmt.Errorf("redisstore: %s has %s replicas: %w (set REDIS_MIN_REPLICAS=1)", c.Options().Addr, n, ErrUnwaitedReplicas)
		}
		return nil
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, check)
	}
	if c, ok := rdb.(*redis.Client); ok {
		return check(ctx, c)
	}
	return nil
}
