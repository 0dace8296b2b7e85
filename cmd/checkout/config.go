package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/akinon-gateway/gateway/cmd/checkout/chromium"
	"github.com/akinon-gateway/gateway/hashing"
)

// The gateway's development credentials (DEV_MODE=1), the defaults here
// too so that `make run` and `go run ./cmd/checkout` meet without setup.
const (
	devUsername = "akinon"
	devPassword = "akinon-dev-password"
	devHashKey  = "dev-hash-key-0123456789abcdef0123456789"
)

// config is the driver's configuration: flags, with the gateway's own
// environment variable names as defaults.
type config struct {
	GatewayURL     string
	Username       string
	Password       string
	HashKey        string
	HashScheme     hashing.Scheme
	WebhookHashKey string

	Listen    string // the shop's listener
	PublicURL string // how the browser and the gateway reach the shop

	Scenarios []string
	Browser   bool
	Chromium  string
	OutDir    string
	Record    string
	Report    string

	N, C int // load

	WebhookWait time.Duration
	SessionTTL  time.Duration // the gateway's SESSION_TTL, when known: the abandoned challenge waits for its expiry
	Timeout     time.Duration
	Verbose     bool
}

// parseConfig reads flags over the environment.
func parseConfig(args []string, env func(string) string, stderr io.Writer) (config, error) {
	c := config{}
	fs := flag.NewFlagSet("checkout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: checkout [flags]              run the scenarios against a gateway
       checkout -n N -c C [flags]    load: N checkouts, C at a time
       checkout replay [flags] FILE  re-send a -record file and report byte differences

flags:
`)
		fs.PrintDefaults()
	}
	var scenarios, scheme string
	fs.StringVar(&c.GatewayURL, "gateway", or(env("GATEWAY_URL"), "http://localhost:8080"), "gateway base URL (env GATEWAY_URL)")
	fs.StringVar(&c.Username, "username", or(env("GATEWAY_USERNAME"), devUsername), "Basic-auth user (env GATEWAY_USERNAME)")
	fs.StringVar(&c.Password, "password", or(env("GATEWAY_PASSWORD"), devPassword), "Basic-auth password (env GATEWAY_PASSWORD)")
	fs.StringVar(&c.HashKey, "hash-key", or(env("HASH_KEY"), devHashKey), "key that verifies the return POST (env HASH_KEY)")
	fs.StringVar(&scheme, "hash-scheme", env("HASH_SCHEME"), "return hash scheme: hmac-sha512 (default) or sha512-keylast (env HASH_SCHEME)")
	fs.StringVar(&c.WebhookHashKey, "webhook-hash-key", env("WEBHOOK_HASH_KEY"), "key that verifies webhooks (env WEBHOOK_HASH_KEY); empty refuses them")
	fs.StringVar(&c.Listen, "listen", or(env("CHECKOUT_LISTEN"), "127.0.0.1:0"), "the shop's listen address; the gateway's WEBHOOK_URL is http://ADDR/orders/hooks/payment")
	fs.StringVar(&c.PublicURL, "public-url", env("CHECKOUT_PUBLIC_URL"), "the shop's URL as the browser and gateway see it (default http://LISTEN)")
	fs.StringVar(&scenarios, "scenarios", "all", "comma-separated scenarios to run, \"all\", or \"list\" to print them")
	fs.BoolVar(&c.Browser, "browser", false, "drive headless Chromium instead of the HTTP client")
	fs.StringVar(&c.Chromium, "chromium", or(env("CHROMIUM"), chromium.Default), "Chromium executable for -browser")
	fs.StringVar(&c.OutDir, "out", "out/checkout", "directory for browser screenshots and final pages")
	fs.StringVar(&c.Record, "record", "", "write every Commerce→gateway request and response to FILE as JSON lines")
	fs.StringVar(&c.Report, "report", "", "write the scenario results to FILE as JSON")
	fs.IntVar(&c.N, "n", 0, "load: number of checkouts (0: run the scenarios)")
	fs.IntVar(&c.C, "c", 8, "load: checkouts at a time")
	fs.DurationVar(&c.WebhookWait, "webhook-wait", 45*time.Second, "how long a scenario waits for a webhook (SANDBOX_PENDING_DELAY plus delivery)")
	fs.DurationVar(&c.SessionTTL, "session-ttl", 0, "the gateway's SESSION_TTL, if short enough to wait for (0: the abandoned 3-D Secure scenario does not wait for the expiry)")
	fs.DurationVar(&c.Timeout, "timeout", 90*time.Second, "deadline of one scenario")
	fs.BoolVar(&c.Verbose, "v", false, "log what the shop does")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (flags go before arguments; replay is `checkout replay FILE`)", fs.Arg(0))
	}
	var err error
	if c.HashScheme, err = hashing.ParseScheme(scheme); err != nil {
		return c, err
	}
	c.Scenarios = splitList(scenarios)
	return c, c.Validate()
}

// Validate refuses combinations that cannot run.
func (c config) Validate() error {
	var errs []error
	for _, r := range []struct {
		bad bool
		msg string
	}{
		{!absoluteHTTP(c.GatewayURL), fmt.Sprintf("-gateway %q is not an absolute http(s) URL", c.GatewayURL)},
		{c.PublicURL != "" && !absoluteHTTP(c.PublicURL), fmt.Sprintf("-public-url %q is not an absolute http(s) URL", c.PublicURL)},
		{c.Username == "" || c.Password == "", "-username and -password are required"},
		{c.HashKey == "", "-hash-key is required (the gateway's HASH_KEY)"},
		{c.N < 0 || c.C < 1, "-n must be ≥ 0 and -c ≥ 1"},
		{c.N > 0 && c.Browser, "load (-n) runs with the HTTP shopper; drop -browser"},
		{c.SessionTTL >= c.WebhookWait, "-session-ttl must be shorter than -webhook-wait, which waits for the expiry's webhook"},
		{c.WebhookWait <= 0 || c.Timeout <= 0, "-webhook-wait and -timeout must be positive"},
		{len(c.Scenarios) == 0, "-scenarios is empty"},
	} {
		if r.bad {
			errs = append(errs, errors.New(r.msg))
		}
	}
	return errors.Join(errs...)
}

// absoluteHTTP says whether raw is an absolute http or https URL.
func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
