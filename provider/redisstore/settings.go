package redisstore

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
)

// Settings is the store's section: where Redis is, how the keyspace is
// sharded, what a write waits for and how long an order is kept.
type Settings struct {
	URL            URL           `env:"REDIS_URL" secret:"url" doc:"where the store is; empty: the embedded one"`
	Shards         int           `env:"REDIS_SHARDS" min:"1" max:"16384" doc:"hash-tag shards of the keyspace"`
	PoolSize       int           `env:"REDIS_POOL_SIZE" min:"1" max:"10000" doc:"connections to each Redis node"`
	MinReplicas    int           `env:"REDIS_MIN_REPLICAS" min:"0" max:"16" doc:"replicas that must acknowledge a write before its answer"`
	ReplicaTimeout time.Duration `env:"REDIS_REPLICA_TIMEOUT" min:"1ns" doc:"how long to wait for them"`
	WaitAOF        bool          `env:"REDIS_WAIT_AOF" doc:"also wait for the AOF fsync (WAITAOF, Redis 7.2+)"`
	Retention      time.Duration `env:"ORDER_RETENTION" min:"1ns" doc:"how long an order lives after its latest change"`
}

// DefaultSettings are the store's defaults.
func DefaultSettings() Settings {
	return Settings{Shards: 1, PoolSize: DefaultPoolSize, ReplicaTimeout: 500 * time.Millisecond, Retention: provider.DefaultRetention}
}

// DefaultPoolSize is REDIS_POOL_SIZE's default. A call holds a
// connection for each of its round trips, up to four with its bank, so
// with go-redis's default of ten a core the calls of a busy listener
// queue for one; 64 takes about 4 % of the gateway's CPU off a refund
// under 64 calls at once (docs/benchmarks.md, 2026-12-07 morning).
const DefaultPoolSize = 64

// Validate: waiting for replicas needs a Redis that has them.
func (s Settings) Validate() error {
	if s.URL == "" && (s.MinReplicas > 0 || s.WaitAOF) {
		return errors.New("REDIS_MIN_REPLICAS and REDIS_WAIT_AOF need REDIS_URL: the embedded store has no replicas")
	}
	return nil
}

// Durability is what a write waits for, these settings say.
func (s Settings) Durability() Durability {
	return Durability{MinReplicas: s.MinReplicas, Timeout: s.ReplicaTimeout, AOF: s.WaitAOF, Follow: FollowMaster}
}

// URL is a REDIS_URL, refused when Options cannot read it.
type URL string

// UnmarshalText checks the URL as Options reads it.
func (u *URL) UnmarshalText(text []byte) error {
	if _, err := Options(string(text)); err != nil {
		return err
	}
	*u = URL(text)
	return nil
}

// Options reads a REDIS_URL into go-redis's universal options:
//
//	redis://[:pass@]host:6379/0            one node
//	rediss://…                              the same over TLS
//	redis://host1:26379?master_name=m&addr=host2:26379   Sentinel
//	redis://host1:6379?addr=host2:6379&cluster=1         Cluster
func Options(raw string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL")
	}
	q := u.Query()
	master, cluster := q.Get("master_name"), q.Get("cluster") == "1"
	extra := q["addr"]
	q.Del("master_name")
	q.Del("cluster")
	q.Del("addr")
	u.RawQuery = q.Encode()
	o, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, err
	}
	uo := &redis.UniversalOptions{
		Addrs:         append([]string{o.Addr}, extra...),
		DB:            o.DB,
		Username:      o.Username,
		Password:      o.Password,
		TLSConfig:     o.TLSConfig,
		MasterName:    master,
		IsClusterMode: cluster,
		// Fail fast: a store that does not answer makes the gateway
		// answer 503 quickly rather than hold Akinon's call.
		DialTimeout:  2 * time.Second,
		ReadTimeout:  3 * time.Second,
		WriteTimeout: 3 * time.Second,
		PoolTimeout:  4 * time.Second,
		MaxRetries:   1,
	}
	return uo, nil
}
