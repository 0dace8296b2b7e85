package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybank"
	"github.com/redis/go-redis/v9"
)

// run serves the bank until ctx ends or an interrupt comes.
func run(ctx context.Context, args []string, out io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("nestpaybank", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	redisURL := fs.String("redis", "redis://127.0.0.1:6379", "Redis holding the books")
	var cfg nestpaybank.Config
	fs.StringVar(&cfg.Prefix, "prefix", "nestpaybank", "key prefix of the books")
	fs.StringVar(&cfg.ClientID, "client-id", "100100000", "the store's client id")
	fs.StringVar(&cfg.StoreKey, "store-key", "", "the store key (required)")
	fs.StringVar(&cfg.APIUser, "api-user", "api", "XML API user")
	fs.StringVar(&cfg.APIPassword, "api-password", "", "XML API password (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.StoreKey == "" || cfg.APIPassword == "" {
		return errors.New("-store-key and -api-password are required")
	}
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		return fmt.Errorf("-redis: %w", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: nestpaybank.New(cfg, rdb).Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
