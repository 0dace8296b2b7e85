package app

import (
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// embedded starts miniredis, an in-process Redis that runs the same Lua
// scripts, for trying the gateway without a Redis server. It keeps
// nothing across restarts.
func embedded() (*embeddedStore, *redis.UniversalOptions, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, nil, err
	}
	e := &embeddedStore{Miniredis: m, stop: make(chan struct{}), done: make(chan struct{})}
	go e.runClock(ttlTick)
	return e, &redis.UniversalOptions{Addrs: []string{m.Addr()}, DialTimeout: 2 * time.Second, MaxRetries: 1}, nil
}

// embeddedStore is miniredis with TTLs that run on the wall clock, as on
// a real Redis.
//
// Not with miniredis's ClockTTL: it advances the TTLs on every command,
// also on every redis.call of a script, and each advance sorts every key
// of the store. A Begin script then cost milliseconds per thousand keys,
// so the gateway slowed as orders accumulated (3 checkouts/s after 900).
// Here one goroutine advances them every ttlTick instead, and no command
// pays for the size of the keyspace. A key then expires within a tick of
// its time, early or late; a store so large that a sweep takes over
// 1/ttlShare of a tick is swept less often, so sweeping never takes more
// than 1/ttlShare of the store's time.
type embeddedStore struct {
	*miniredis.Miniredis
	stop, done chan struct{}
	once       sync.Once
}

const (
	// ttlTick is how often the embedded store advances its TTLs.
	ttlTick = 100 * time.Millisecond
	// ttlShare bounds the time spent sweeping to 1/ttlShare of the clock.
	ttlShare = 20
)

// embeddedGCPercent is the garbage collector's target with the embedded
// stores, unless GOGC is set.
//
// miniredis builds a fresh Lua interpreter for every script it runs
// (about 190 KB in 790 allocations, garbage when the script ends), and a
// checkout runs fourteen. At the default of 100 the collector ran every
// dozen checkouts or so, its assists slowed the allocating goroutine,
// which holds the store's one lock, and its mark workers took a quarter
// of the CPUs. At 400 the gateway used a quarter less CPU per checkout;
// the price is memory: a heap up to five times what is live (RSS 580 MB
// rather than 200 MB after 3000 checkouts, of 61 MB live).
const embeddedGCPercent = 400

// tuneGC sets embeddedGCPercent unless GOGC is set, and returns what
// puts the previous target back.
func tuneGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	prev := debug.SetGCPercent(embeddedGCPercent)
	return func() { debug.SetGCPercent(prev) }
}

// runClock advances the TTLs by the time that passed, every tick, until
// Close.
func (e *embeddedStore) runClock(tick time.Duration) {
	defer close(e.done)
	last := time.Now()
	t := time.NewTimer(tick)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		e.FastForward(now.Sub(last))
		last = now
		t.Reset(max(tick, ttlShare*time.Since(now)))
	}
}

// Close stops the clock and the server.
func (e *embeddedStore) Close() {
	e.once.Do(func() {
		close(e.stop)
		<-e.done
		e.Miniredis.Close()
	})
}
