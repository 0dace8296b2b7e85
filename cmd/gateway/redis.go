package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// redisOptions reads REDIS_URL into go-redis's universal options:
//
//	redis://[:pass@]host:6379/0            one node
//	rediss://…                              the same over TLS
//	redis://host1:26379?master_name=m&addr=host2:26379   Sentinel
//	redis://host1:6379?addr=host2:6379&cluster=1         Cluster
func redisOptions(raw string) (*redis.UniversalOptions, error) {
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

// embedded starts miniredis, an in-process Redis that runs the same Lua
// scripts, for trying the gateway without a Redis server. It keeps
// nothing across restarts.
func embedded() (*miniredis.Miniredis, *redis.UniversalOptions, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, nil, err
	}
	// Let TTLs run on the wall clock, as on a real Redis.
	m.ClockTTL(true)
	return m, &redis.UniversalOptions{Addrs: []string{m.Addr()}, DialTimeout: 2 * time.Second, MaxRetries: 1}, nil
}
