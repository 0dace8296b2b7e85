package app

import (
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap/zapcore"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors"
	"github.com/akinon-gateway/gateway/provider/redisstore"
)

// Option is a seam a test passes to Run; production passes none. Every
// part is still built by Run: an option only observes a part or wraps it.
type Option func(*options)

type options struct {
	now       func() time.Time
	wrap      func(merchant, name string, p provider.Processor) provider.Processor
	logCore   zapcore.Core
	started   func(Parts)
	extra     []processors.Kind
	tp        trace.TracerProvider
	redisOpts func(*redis.UniversalOptions)
}

// Parts are the running gateway's pieces a test reads or acts on.
type Parts struct {
	Handler   http.Handler // the main listener's handler
	Admin     http.Handler // the operator endpoints' handler: Handler itself unless ADMIN_ADDR is set
	Addr      string       // the main listener's address
	AdminAddr string       // ADMIN_ADDR's listener address, or ""
	Service   *provider.Service
	Store     *redisstore.Store
	Merchants *extension.Merchants
	Server    *extension.Server // the HTTP side, whose Echo lists the routes served
}

// WithClock makes the service and the sandbox bank read the time from
// now, so a test can move it (a PENDING card's verdict comes due with it).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithProcessors wraps every processor built from the configuration, so a
// test can hold or count the calls that reach the bank.
func WithProcessors(wrap func(merchant, name string, p provider.Processor) provider.Processor) Option {
	return func(o *options) { o.wrap = wrap }
}

// WithLogCore tees the gateway's log into core (a zaptest observer, say).
func WithLogCore(core zapcore.Core) Option { return func(o *options) { o.logCore = core } }

// WithProcessorKinds lets the gateway build kinds beside its own
// processors (processors.Builtin), so a test can give a merchant a bank
// that only the test has.
func WithProcessorKinds(kinds ...processors.Kind) Option {
	return func(o *options) { o.extra = append(o.extra, kinds...) }
}

// kinds are the processors the gateway can build: its own and the test's.
func (o options) kinds() processors.Registry {
	return append(slices.Clip(processors.Builtin), o.extra...)
}

// WithTracerProvider traces the gateway (its requests, Redis commands and
// processor calls) through tp, an SDK with an in-memory exporter say, in
// place of the OTLP exporter OTEL_EXPORTER_OTLP_ENDPOINT would make.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// WithRedisOptions adjusts the options of each Redis client the gateway
// opens from a URL, so a test that kills its server can make the client
// give up at once instead of dialling again.
func WithRedisOptions(tune func(*redis.UniversalOptions)) Option {
	return func(o *options) { o.redisOpts = tune }
}

// Started is called once the gateway listens, before it serves, with its parts.
func Started(f func(Parts)) Option { return func(o *options) { o.started = f } }

// wrapBanks passes each merchant's processors through the test's wrapper.
func (o options) wrapBanks(banks map[string]provider.MerchantProcessors) map[string]provider.MerchantProcessors {
	if o.wrap == nil {
		return banks
	}
	for id, mp := range banks {
		for name, p := range mp.ByName {
			mp.ByName[name] = o.wrap(id, name, p)
		}
	}
	return banks
}

// parts are what Started hands a test.
func (gw *gateway) parts(merchants *extension.Merchants, servers []*http.Server, listeners []net.Listener) Parts {
	p := Parts{Handler: servers[0].Handler, Admin: servers[0].Handler, Addr: listeners[0].Addr().String(),
		Service: gw.svc, Store: gw.store, Merchants: merchants, Server: gw.srv}
	if len(servers) > 1 {
		p.Admin, p.AdminAddr = servers[1].Handler, listeners[1].Addr().String()
	}
	return p
}
