package redisstore

import (
	"context"
	"hash/fnv"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
)

// The guid registry closes guid reuse across orders when the keyspace has
// several shards (a Cluster): a guid's record lives in its order's shard,
// so a second order in another shard would not see it. Each guid also
// has an entry keyed by the guid alone, `prefix:{g<n>}:gi:{merchant}:{guid}`
// (n = hash of merchant and guid over the shards, so entries spread over
// the cluster), holding the fingerprint of the request that first used
// it. Begin claims it first: the same request passes, another is
// refused as reused. It costs one round trip more per call on a sharded
// store; with one shard (a single node, Sentinel) the order's shard holds
// every guid record and the registry is not used.
//
// The entry is not waited on by replicas: losing it in a failover lets a
// reuse on another order through for that window, which moves no money
// twice (another order is another reference at the bank).
var registerScript = redis.NewScript(`
local fp = redis.call('GET', KEYS[1])
if not fp then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if fp == ARGV[1] then
  return 1
end
return 0
`)

func (s *Store) registerGUID(ctx context.Context, in provider.BeginInput) (bool, error) {
	h := fnv.New32a()
	h.Write([]byte(in.Merchant))
	h.Write([]byte{0})
	h.Write([]byte(in.GUID))
	key := s.prefix + ":{g" + strconv.Itoa(int(h.Sum32()%uint32(s.shards))) + "}:gi:" + in.Merchant + ":" + in.GUID
	ttl := in.TTL
	if ttl <= 0 {
		ttl = provider.DefaultRetention
	}
	n, err := registerScript.Run(ctx, s.rdb, []string{key}, in.Fingerprint, ttl.Milliseconds()).Int()
	return n == 1, err
}
