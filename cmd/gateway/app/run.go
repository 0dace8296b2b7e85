package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/provider/processors"
)

// drainTimeout is how long SIGTERM waits for requests in flight.
const drainTimeout = 20 * time.Second

// Run is the whole program, so a test can boot it: it returns when ctx is
// cancelled and everything in flight has finished. -version and
// -check-config write to stdout; opts are the seams of a test.
func Run(ctx context.Context, args []string, env func(string) string, stdout io.Writer, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	checkOnly := fs.Bool("check-config", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and build information and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		return printVersion(stdout)
	}
	cfg, merchants, sections, err := configure(env, o.kinds())
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log, err := newLogger(zapcore.Level(cfg.Observe.LogLevel), cfg.Observe.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if o.logCore != nil {
		log = zap.New(zapcore.NewTee(log.Core(), o.logCore))
	}
	logRedisThrough(log)
	if *checkOnly {
		return checkConfig(ctx, cfg, merchants, sections, stdout)
	}
	log.Info("configuration", configurationLine(cfg, merchants, sections)...)

	gw, err := assemble(ctx, cfg, merchants, sections, log, o)
	if err != nil {
		return err
	}
	defer gw.close()
	servers, listeners, err := listen(cfg, gw, log)
	if err != nil {
		return err
	}
	if o.started != nil {
		o.started(gw.parts(merchants, servers, listeners))
	}
	return serve(ctx, cfg, gw, log, servers, listeners)
}

// configure reads and checks the configuration and the merchants.
func configure(env func(string) string, kinds processors.Registry) (Config, *extension.Merchants, map[string][]*processors.Section, error) {
	cfg, err := loadConfig(env, kinds)
	if err != nil {
		return cfg, nil, nil, err
	}
	merchants, sections, err := cfg.validate()
	return cfg, merchants, sections, err
}

// listen opens the main listener, capped per client, and ADMIN_ADDR's
// when there is one, each with its server.
func listen(cfg Config, gw *gateway, log *zap.Logger) ([]*http.Server, []net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	capped := limitListener(ln, connLimits{total: cfg.HTTP.MaxConns, perClient: cfg.HTTP.MaxConnsPerIP, proxies: cfg.HTTP.TrustedProxies,
		key: func(ip string) string { return extension.ClientKey(ip, cfg.HTTP.IPv6Prefix) }})
	servers := []*http.Server{newHTTPServer(gw.srv, cfg, log, capped.penalise)}
	listeners := []net.Listener{capped}
	if cfg.HTTP.AdminAddr != "" {
		aln, err := net.Listen("tcp", cfg.HTTP.AdminAddr)
		if err != nil {
			capped.Close()
			return nil, nil, fmt.Errorf("listen %s (ADMIN_ADDR): %w", cfg.HTTP.AdminAddr, err)
		}
		servers = append(servers, newHTTPServer(gw.admin, cfg, log, nil))
		listeners = append(listeners, aln)
	}
	return servers, listeners, nil
}

// serve runs the servers and the background work until ctx ends, then
// drains the requests in flight before it stops the background work.
func serve(ctx context.Context, cfg Config, gw *gateway, log *zap.Logger, servers []*http.Server, listeners []net.Listener) error {
	// The background work stops when the HTTP side has drained: a
	// request in flight may still queue an event or settle a payment.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	var bg sync.WaitGroup
	for _, job := range gw.background(cfg, log) {
		bg.Go(func() { job(bgCtx) })
	}

	served := make(chan error, len(servers))
	for i, hs := range servers {
		go func() { served <- hs.Serve(listeners[i]) }()
		log.Info("listening", zap.String("addr", listeners[i].Addr().String()), zap.Bool("operator", i > 0))
	}

	select {
	case err := <-served:
		stopBackground()
		bg.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	var herr error
	for _, hs := range servers {
		herr = errors.Join(herr, hs.Shutdown(sctx))
	}
	log.Info("http drained; stopping webhooks, jobs and the reconciler (work in flight finishes)")
	stopBackground()
	bg.Wait()
	if herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", herr)
	}
	log.Info("stopped")
	return nil
}

// newHTTPServer serves a handler with the gateway's timeouts and limits:
// a header block of at most 16 KiB (Go adds 4 KiB of slack) within
// HEADER_TIMEOUT, the whole request within READ_TIMEOUT, a body at
// BODY_MIN_RATE at least, idle keep-alive connections closed after
// IDLE_TIMEOUT.
func newHTTPServer(h http.Handler, cfg Config, log *zap.Logger, slow func(remoteAddr string)) *http.Server {
	return &http.Server{
		Handler:           minBodyRate(h, bodyRate{rate: cfg.HTTP.BodyMinRate, grace: cfg.HTTP.BodyGrace, timeout: cfg.HTTP.ReadTimeout, cut: slow}),
		ReadHeaderTimeout: cfg.HTTP.HeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
}

func newLogger(level zapcore.Level, format string) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(level)
	cfg.EncoderConfig.TimeKey = "ts"
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.OutputPaths = []string{"stdout"}
	cfg.Sampling = nil
	if format == "console" {
		cfg.Encoding = "console"
	}
	// A failed request is logged with its cause and request id; a stack
	// trace of the HTTP error handler says nothing more, so traces are
	// kept for panics.
	cfg.DisableStacktrace = true
	return cfg.Build()
}

// configurationLine is what the configuration log line shows: every
// variable, what is not for production, and each merchant's processor
// sections, secrets masked throughout.
func configurationLine(cfg Config, merchants *extension.Merchants, sections map[string][]*processors.Section) []zap.Field {
	return append(cfg.LogFields(), zap.Strings("not_for_production", partNames(testParts(cfg, merchants))),
		zap.Any("processors", shownSections(sections)))
}
