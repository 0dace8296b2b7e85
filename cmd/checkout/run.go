package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
)

// errFailed is a run that worked but found failures; they are already
// printed.
var errFailed = errors.New("failures reported")

// replayAt is where the replay command stands in args, or -1: first,
// or after flags (`checkout -gateway URL replay FILE`), but never as the
// value of the flag before it.
func replayAt(args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "replay":
			return i
		case a == "--" || !strings.HasPrefix(a, "-"):
			return -1
		case !strings.Contains(a, "=") && !boolFlags[strings.TrimLeft(a, "-")]:
			i++ // the next word is this flag's value
		}
	}
	return -1
}

// boolFlags are the flags that take no value.
var boolFlags = map[string]bool{"browser": true, "v": true, "h": true, "help": true}

// run is the whole program on the process's own output, so a test can
// boot it; an interrupt ends it.
func run(ctx context.Context, args []string, env func(string) string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runTo(ctx, args, env, os.Stdout, os.Stderr)
}

func runTo(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if i := replayAt(args); i >= 0 {
		return runReplay(ctx, append(append([]string{}, args[:i]...), args[i+1:]...), env, stdout, stderr)
	}
	cfg, picked, done, err := plan(args, env, stdout, stderr)
	if done || err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("shop listener: %w", err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	rec, closeRecord, err := openRecord(cfg.Record)
	if err != nil {
		ln.Close()
		return err
	}
	defer closeRecord()
	stats := newStepStats()
	shop := newShop(cfg, rec, stats, stderr)
	defer serveShop(ctx, shop, ln)()

	if err := waitReady(ctx, cfg.GatewayURL, 15*time.Second); err != nil {
		return err
	}
	var runErr error
	if cfg.N > 0 {
		runErr = runLoad(ctx, cfg, shop, stats, stdout, stderr)
	} else {
		runErr = runScenarios(ctx, cfg, shop, picked, stdout)
	}
	if rec != nil {
		if err := rec.Flush(); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

// plan reads the flags and picks the scenarios; done when there is
// nothing to run (-h, -scenarios list).
func plan(args []string, env func(string) string, stdout, stderr io.Writer) (cfg config, picked []scenario, done bool, err error) {
	cfg, err = parseConfig(args, env, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return cfg, nil, true, nil
	}
	if err != nil {
		return cfg, nil, true, err
	}
	if len(cfg.Scenarios) == 1 && cfg.Scenarios[0] == "list" {
		for _, s := range allScenarios() {
			fmt.Fprintf(stdout, "%-24s %s\n", s.name, s.about)
		}
		return cfg, nil, true, nil
	}
	if cfg.N == 0 {
		picked, err = pickScenarios(cfg.Scenarios)
	}
	return cfg, picked, err != nil, err
}

// openRecord opens -record's file; no path is no recorder.
func openRecord(path string) (*commerce.Recorder, func(), error) {
	if path == "" {
		return nil, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("-record: %w", err)
	}
	return commerce.NewRecorder(f), func() { f.Close() }, nil
}

// newShop is the shop, its exchanges with the gateway recorded (rec) and,
// under load, counted (stats).
func newShop(cfg config, rec *commerce.Recorder, stats *stepStats, stderr io.Writer) *commerce.Shop {
	var observers []func(*commerce.Exchange)
	if rec != nil {
		observers = append(observers, rec.Observe)
	}
	if cfg.N > 0 {
		observers = append(observers, stats.observe)
	}
	gw := newGateway(cfg, func(x *commerce.Exchange) {
		for _, o := range observers {
			o(x)
		}
	})
	logf := func(string, ...any) {}
	if cfg.Verbose {
		logf = func(format string, args ...any) {
			fmt.Fprintf(stderr, "%s shop: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
		}
	}
	return commerce.NewShop(commerce.Config{
		Gateway: gw, PublicURL: cfg.PublicURL,
		HashKey: cfg.HashKey, HashScheme: cfg.HashScheme, WebhookHashKey: cfg.WebhookHashKey,
		OrderPrefix: "ON-" + runID() + "-", Logf: logf,
	})
}

// serveShop serves the shop on ln; the function it returns stops it.
func serveShop(ctx context.Context, shop *commerce.Shop, ln net.Listener) func() {
	srv := &http.Server{Handler: shop, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-served
	}
}

// newGateway is the Commerce-side client, with a pool sized for load.
func newGateway(cfg config, observe func(*commerce.Exchange)) *commerce.Gateway {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	return &commerce.Gateway{
		BaseURL:  strings.TrimRight(cfg.GatewayURL, "/"),
		Username: cfg.Username, Password: cfg.Password,
		Client:  &http.Client{Transport: tr, Timeout: 30 * time.Second},
		Observe: observe,
	}
}

// waitReady waits for the gateway's /readyz, with a deadline.
func waitReady(ctx context.Context, base string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gateway %s is not ready after %s (last: %s)", base, within, last)
		case <-tick.C:
		}
	}
}

// runID tells this run's orders from any other run's on the same gateway.
func runID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
