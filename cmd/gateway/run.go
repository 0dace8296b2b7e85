package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if *checkOnly {
		return checkStores(ctx, cfg)
	}
	log.Info("configuration", cfg.LogFields()...)

	gw, err := assemble(ctx, cfg, merchants, log)
	if err != nil {
		return err
	}
	defer gw.close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}

	// The background work stops when the HTTP side has drained: a
	// request in flight may still queue an event or settle a payment.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	var bg sync.WaitGroup
	for _, job := range gw.background(cfg, log) {
		bg.Go(func() { job(bgCtx) })
	}

	hs := &http.Server{
		Handler:           gw.srv,
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
	log.Info("http drained; stopping webhooks, jobs and the reconciler (work in flight finishes)")
	stopBackground()
	bg.Wait()
	if herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", herr)
	}
	log.Info("stopped")
	return nil
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
