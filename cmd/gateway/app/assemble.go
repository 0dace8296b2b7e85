package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/observe"
	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors"
	"github.com/akinon-gateway/gateway/provider/redisstore"
)

// gateway is the program's parts, wired.
type gateway struct {
	metrics  *observe.Metrics
	srv      *extension.Server
	admin    *echo.Echo // the operator endpoints' router: srv's own, or ADMIN_ADDR's
	store    *redisstore.Store
	svc      *provider.Service
	sender   *webhook.Sender
	ready    *readiness
	embedded bool
	closers  []func()
	tune     func(*redis.UniversalOptions) // WithRedisOptions
}

// assemble connects the stores, refuses a Redis that may evict, and
// wires the service, the HTTP side, the webhook sender and readiness.
func assemble(ctx context.Context, cfg Config, merchants *extension.Merchants, sections map[string][]*processors.Section,
	log *zap.Logger, o options) (*gateway, error) {
	logRedisThrough(log)
	gw := &gateway{embedded: cfg.Store.URL == "", tune: o.redisOpts}
	if gw.embedded {
		gw.closers = append(gw.closers, tuneGC())
	}
	err := gw.wire(ctx, cfg, merchants, sections, log, o)
	if err != nil {
		gw.close()
		return nil, err
	}
	return gw, nil
}

// wire builds the parts in the order they depend on each other; what it
// opened before an error is closed by the caller.
func (gw *gateway) wire(ctx context.Context, cfg Config, merchants *extension.Merchants, sections map[string][]*processors.Section,
	log *zap.Logger, o options) error {
	rdb, books, err := gw.connectStores(cfg, log)
	if err != nil {
		return err
	}
	tp, err := gw.tracing(ctx, cfg, rdb, o.tp)
	if err != nil {
		return err
	}
	if err := gw.checkRedis(ctx, cfg, rdb, books, log); err != nil {
		return err
	}
	parts := gw.openStore(cfg, rdb, merchants, log)
	if err := gw.wireService(cfg, merchants, sections, books, tp, log, o); err != nil {
		return err
	}
	gw.ready = &readiness{check: func(ctx context.Context) error { return gw.store.Check(ctx, cfg.Replica, gw.embedded) }}
	gw.ready.refresh(ctx)
	if err := gw.ready.detail(); err != nil {
		log.Warn("not ready", zap.Error(err))
	}
	gw.wireHTTP(cfg, merchants, rdb, tp, partWarnings(parts), log)
	hooks := cfg.Webhook
	hooks.AllowPrivate = hooks.AllowPrivate || cfg.DevMode
	gw.sender = webhook.NewSender(observe.Outbox(gw.store, gw.metrics), merchants, nil, hooks, log.Named("webhook"))
	return nil
}

// connectStores opens the gateway's store and the sandbox bank's books:
// SANDBOX_REDIS_URL's, an embedded store of their own beside an embedded
// gateway store, or else the gateway's own.
func (gw *gateway) connectStores(cfg Config, log *zap.Logger) (rdb, books redis.UniversalClient, err error) {
	rdb, err = gw.connect(string(cfg.Store.URL), log, cfg.Store.ReplicaTimeout, cfg.Store.PoolSize)
	if err != nil {
		return nil, nil, err
	}
	books = rdb
	switch {
	case cfg.SandboxRedisURL != "":
		books, err = gw.connect(string(cfg.SandboxRedisURL), log, 0, cfg.Store.PoolSize)
	case gw.embedded:
		// The bank, which stands for another company's system, keeps its
		// books in an embedded store of its own: miniredis runs every
		// command of every client under one lock, so one store would make
		// the bank's scripts wait for the gateway's and the other way round.
		var addr string
		if books, addr, err = gw.connectEmbedded(); err == nil {
			log.Info("the sandbox bank keeps its books in an embedded store of its own", zap.String("embedded_addr", addr))
		}
	}
	return rdb, books, err
}

// tracing sets up OpenTelemetry when configured, or on the test's
// provider (WithTracerProvider), before the first Redis command: on a
// Cluster, go-redis instruments only the node clients made after it. Nil
// when tracing is off.
func (gw *gateway) tracing(ctx context.Context, cfg Config, rdb redis.UniversalClient, tp trace.TracerProvider) (trace.TracerProvider, error) {
	if tp == nil && cfg.Observe.OtelEndpoint == "" {
		return nil, nil
	}
	if tp == nil {
		sdk, err := observe.Tracing(ctx, cfg.Observe.OtelEndpoint, version)
		if err != nil {
			return nil, err
		}
		gw.closers = append(gw.closers, func() { _ = sdk.Shutdown(context.Background()) })
		tp = sdk
	}
	if err := observe.TraceRedis(rdb, tp); err != nil {
		return nil, err
	}
	return tp, nil
}

// checkRedis refuses a Redis that may evict and warns when answers are
// not waited for by the replicas (-check-config refuses that; a running
// deployment is warned, not stopped).
func (gw *gateway) checkRedis(ctx context.Context, cfg Config, rdb, books redis.UniversalClient, log *zap.Logger) error {
	if gw.embedded {
		return nil
	}
	if err := checkPolicies(ctx, rdb, books); err != nil {
		return err
	}
	if err := redisstore.CheckReplicas(ctx, rdb, cfg.Store.MinReplicas); errors.Is(err, redisstore.ErrUnwaitedReplicas) {
		log.Warn("answers are not waited for by the replicas: a failover can lose them", zap.Error(err))
	}
	return nil
}

// openStore makes the store and its metrics, and names the parts that
// are not for production in the log and the metrics.
func (gw *gateway) openStore(cfg Config, rdb redis.UniversalClient, merchants *extension.Merchants, log *zap.Logger) []testPart {
	gw.store = redisstore.New(rdb, "gw", cfg.Store.Shards)
	gw.metrics = observe.NewMetrics(gw.store)
	parts := testParts(cfg, merchants)
	for _, p := range parts {
		gw.metrics.NotForProduction(p.name)
		log.Warn("NOT FOR PRODUCTION: " + p.warning)
	}
	gw.store.SetRetention(cfg.Store.Retention)
	durability := cfg.Store.Durability()
	durability.Sentinel = gw.sentinelCensus(string(cfg.Store.URL))
	gw.store.SetDurability(durability)
	return parts
}

// wireService builds the merchants' processors (and the sandbox's ACS
// when one uses it) and the service over the observed store.
func (gw *gateway) wireService(cfg Config, merchants *extension.Merchants, sections map[string][]*processors.Section,
	books redis.UniversalClient, tp trace.TracerProvider, log *zap.Logger, o options) error {
	acsURL, serveACS, err := gw.sandboxACS(cfg, sections, log)
	if err != nil {
		return err
	}
	banks, acs, err := buildProcessors(sections, processors.Deps{Books: books, ACSURL: acsURL, Now: o.now}, gw.metrics, tp)
	if err != nil {
		return err
	}
	if acs != nil {
		serveACS(acs)
	}
	gw.svc = newService(observe.Store(gw.store, gw.metrics), nil, "", cfg.Service, o)
	gw.svc.SetMerchantProcessors(o.wrapBanks(banks))
	gw.svc.SetProcessorFailures(observe.ProcessorFailures(log, gw.metrics))
	gw.svc.SetEvents(webhook.NewEncoder(merchants, cfg.Webhook.Schedule))
	return nil
}

// wireHTTP builds the HTTP side: Akinon's calls and the hosted page, and
// the operator's endpoints on their own router when ADMIN_ADDR is set.
func (gw *gateway) wireHTTP(cfg Config, merchants *extension.Merchants, rdb redis.UniversalClient, tp trace.TracerProvider,
	warnings []string, log *zap.Logger) {
	throttle := extension.NewThrottle(redisstore.NewBudgets(rdb, "gw:rl"), cfg.HTTP.Throttle)
	throttle.Refused = gw.metrics.Throttled
	gw.srv = extension.New(extension.Options{
		Service:        gw.svc,
		Merchants:      merchants,
		PublicURL:      cfg.PublicURL,
		DevMode:        cfg.DevMode,
		Logger:         log,
		Ready:          gw.ready.err,
		Throttle:       throttle,
		TrustedProxies: cfg.HTTP.TrustedProxies,
		Warnings:       warnings,
		IPv6Prefix:     cfg.HTTP.IPv6Prefix,
	})
	gw.admin = gw.srv.OperatorEcho(cfg.HTTP.AdminAddr != "")
	routers := []*echo.Echo{gw.srv.Echo()}
	if gw.admin != gw.srv.Echo() {
		routers = append(routers, gw.admin)
	}
	for _, e := range routers {
		e.Use(gw.metrics.Middleware)
		if tp != nil {
			observe.TraceRequests(e, tp)
		}
	}
	gw.srv.MountMetrics(gw.admin, gw.metrics.Handler(), cfg.HTTP.AdminAddr != "", cfg.HTTP.AdminUsername, cfg.HTTP.AdminPassword)
	admin := gw.srv.AdminGroup(gw.admin, cfg.HTTP.AdminUsername, cfg.HTTP.AdminPassword)
	webhook.Mount(admin, gw.svc)
	extension.MountDoubts(admin, gw.svc)
	extension.MountProfiles(admin)
	gw.srv.MountConsole(admin)
}

// background is the work that runs beside the HTTP side until its
// context ends: webhooks, the expiry and pending jobs, the reconciler and
// the readiness check.
func (gw *gateway) background(cfg Config, log *zap.Logger) []func(context.Context) {
	warn := func(what string) func(error) { return func(err error) { log.Warn(what, zap.Error(err)) } }
	return []func(context.Context){
		gw.sender.Run,
		func(ctx context.Context) { gw.svc.RunJobs(ctx, cfg.Service.JobsInterval, warn("background jobs")) },
		func(ctx context.Context) {
			gw.svc.RunReconciler(ctx, cfg.Service.ReconcileInterval, func(rep provider.ReconcileReport, err error) {
				gw.metrics.Reconciled(rep, err)
				if err != nil {
					warn("reconciler")(err)
				}
			})
		},
		func(ctx context.Context) { gw.ready.run(ctx, cfg.ReadyInterval, log) },
	}
}

func (gw *gateway) close() {
	for i := len(gw.closers) - 1; i >= 0; i-- {
		gw.closers[i]()
	}
}

// connect opens a client on a REDIS_URL, or on a new embedded store when
// raw is empty. wait is the longest a write may wait for its replicas
// (WAIT): the read timeout outlasts it, or a WAIT that is merely slow
// would be cut as a broken connection.
func (gw *gateway) connect(raw string, log *zap.Logger, wait time.Duration, pool int) (redis.UniversalClient, error) {
	if raw == "" {
		rdb, addr, err := gw.connectEmbedded()
		if err == nil {
			log.Warn("REDIS_URL is not set: using an EMBEDDED IN-PROCESS STORE (miniredis). "+
				"Nothing survives a restart and replicas cannot share it. NEVER USE THIS IN PRODUCTION.",
				zap.String("embedded_addr", addr))
		}
		return rdb, err
	}
	opts, err := redisstore.Options(raw)
	if err != nil {
		return nil, err
	}
	opts.ReadTimeout = max(opts.ReadTimeout, wait+time.Second)
	opts.PoolSize = pool
	if gw.tune != nil {
		gw.tune(opts)
	}
	rdb := redis.NewUniversalClient(opts)
	gw.closers = append(gw.closers, func() { _ = rdb.Close() })
	return rdb, nil
}

// sentinelCensus is how the store counts a Sentinel group's replicas:
// by asking its sentinels. Nil for any other REDIS_URL.
func (gw *gateway) sentinelCensus(raw string) *redisstore.SentinelCensus {
	if raw == "" {
		return nil
	}
	o, err := redisstore.Options(raw)
	if err != nil || o.MasterName == "" {
		return nil
	}
	g := &redisstore.SentinelCensus{Name: o.MasterName, Node: func(addr string) *redis.Client {
		return redis.NewClient(&redis.Options{Addr: addr, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	}}
	gw.closers = append(gw.closers, g.Close)
	for _, addr := range o.Addrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Username: o.SentinelUsername, Password: o.SentinelPassword,
			TLSConfig: o.TLSConfig, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
		gw.closers = append(gw.closers, func() { _ = sc.Close() })
		g.Sentinels = append(g.Sentinels, sc)
	}
	return g
}

// connectEmbedded starts an embedded store and opens a client on it; it
// returns the store's address for redis-cli.
func (gw *gateway) connectEmbedded() (redis.UniversalClient, string, error) {
	m, opts, err := embedded()
	if err != nil {
		return nil, "", fmt.Errorf("embedded store: %w", err)
	}
	gw.closers = append(gw.closers, m.Close)
	rdb := redis.NewUniversalClient(opts)
	gw.closers = append(gw.closers, func() { _ = rdb.Close() })
	return rdb, m.Addr(), nil
}

// checkPolicies refuses a Redis that may evict keys: the gateway's own
// and the sandbox bank's books.
func checkPolicies(ctx context.Context, clients ...redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var errs []error
	for _, c := range clients {
		errs = append(errs, redisstore.CheckPolicy(ctx, c))
	}
	return errors.Join(errs...)
}

// readiness is /readyz's answer, computed in the background every
// interval rather than per request: a flood of probes costs nothing, and
// a probe answers at once.
type readiness struct {
	check func(context.Context) error

	mu   sync.Mutex
	last error
}

// detail is the last check's own error, for the log.
func (r *readiness) detail() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *readiness) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := r.check(ctx)
	r.mu.Lock()
	r.last = err
	r.mu.Unlock()
}

// err is /readyz's reason, in words safe to show anyone who can reach
// the listener: no host, address or secret (the log has those).
func (r *readiness) err(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return nil
	}
	return errors.New(publicReason(r.last))
}

// publicReason says in a sentence what readiness found.
func publicReason(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, redisstore.ErrEvicting):
		return "the store may evict keys: Redis must run with maxmemory-policy noeviction"
	case strings.Contains(msg, "OOM "):
		return "the store refuses writes: Redis is at maxmemory"
	case strings.Contains(msg, "READONLY"):
		return "the store refuses writes: the Redis reached is a read-only replica"
	case strings.Contains(msg, "maxmemory_policy"):
		return "the store does not say its maxmemory-policy: cannot prove keys are never evicted"
	case errors.Is(err, provider.ErrUnavailable):
		return "the store does not answer"
	}
	return "the store check failed (the log says why)"
}

func (r *readiness) run(ctx context.Context, every time.Duration, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	was := r.detail()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.refresh(ctx)
		now := r.detail()
		switch {
		case now != nil && was == nil:
			log.Warn("not ready", zap.Error(now))
		case now == nil && was != nil:
			log.Info("ready again")
		}
		was = now
	}
}
