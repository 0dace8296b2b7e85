package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/sandbox"
)

// drainTimeout is how long SIGTERM waits for requests in flight.
const drainTimeout = 20 * time.Second

// run is the whole program, so a test can boot it: it returns when ctx is
// cancelled and everything in flight has finished.
func run(ctx context.Context, args []string, env func(string) string) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	checkOnly := fs.Bool("check-config", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and build information and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		return printVersion(stdout)
	}
	cfg, err := LoadConfig(env)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	merchants, err := cfg.Merchants()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if *checkOnly {
		return nil
	}

	log, err := newLogger(cfg.LogLevel, env("LOG_FORMAT"))
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	log.Info("configuration", cfg.LogFields()...)

	opts, closeEmbedded, err := storeOptions(cfg, log)
	if err != nil {
		return err
	}
	defer closeEmbedded()
	rdb := redis.NewUniversalClient(opts)
	defer rdb.Close()
	store := redisstore.New(rdb, "gw", cfg.RedisShards)

	bank := sandbox.New(cfg.SandboxPendingDelay, nil)
	pcfg := provider.DefaultConfig()
	pcfg.IdempotencyTTL, pcfg.SessionTTL = cfg.IdempotencyTTL, cfg.SessionTTL
	svc := provider.NewService(store, map[string]provider.Processor{sandbox.Name: bank}, sandbox.Name, pcfg)

	svc.SetEvents(webhook.NewEncoder(merchants, cfg.WebhookRetrySchedule))

	srv := extension.New(extension.Options{
		Service:   svc,
		Merchants: merchants,
		PublicURL: cfg.PublicURL,
		DevMode:   cfg.DevMode,
		Logger:    log,
		Ready:     store.Ping,
	})

	webhook.Mount(srv.Echo(), store, cfg.AdminUsername, cfg.AdminPassword)

	replica := cfg.Replica
	if replica == "" {
		host, _ := os.Hostname()
		replica = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	sender := webhook.NewSender(store, merchants, nil, webhook.Config{
		Schedule:  cfg.WebhookRetrySchedule,
		Timeout:   cfg.WebhookTimeout,
		Workers:   16,
		Poll:      cfg.WebhookPoll,
		Retention: 7 * 24 * time.Hour,
		Replica:   replica,
	}, log.Named("webhook"))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}

	// The background work stops when the HTTP side has drained: a
	// request in flight may still queue an event.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		svc.RunJobs(bgCtx, cfg.JobsInterval, func(err error) { log.Warn("background jobs", zap.Error(err)) })
	}()
	go func() {
		defer bg.Done()
		sender.Run(bgCtx)
	}()

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("listening", zap.String("addr", ln.Addr().String()))

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
	herr := hs.Shutdown(sctx)
	log.Info("http drained; stopping webhooks and jobs (attempts in flight finish)")
	stopBackground()
	bg.Wait()
	if herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", herr)
	}
	log.Info("stopped")
	return nil
}

// storeOptions connects to REDIS_URL, or starts the embedded store.
func storeOptions(cfg Config, log *zap.Logger) (*redis.UniversalOptions, func(), error) {
	if cfg.RedisURL != "" {
		o, err := redisOptions(cfg.RedisURL)
		return o, func() {}, err
	}
	m, opts, err := embedded()
	if err != nil {
		return nil, nil, fmt.Errorf("embedded store: %w", err)
	}
	log.Warn("REDIS_URL is not set: using an EMBEDDED IN-PROCESS STORE (miniredis). "+
		"Nothing survives a restart and replicas cannot share it. NEVER USE THIS IN PRODUCTION.",
		zap.String("embedded_addr", m.Addr()))
	return opts, m.Close, nil
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
	return cfg.Build()
}
