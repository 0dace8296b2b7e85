package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// Config is the gateway's configuration, read from the environment
// variables the contract names (and a few of ours, marked).
type Config struct {
	Addr      string
	PublicURL string

	Username   string
	Password   string
	HashKey    string
	HashScheme string // ours: HASH_SCHEME, hmac-sha512 or sha512-keylast
	ReturnHost []string
	Rates      map[int]int // ours: INSTALLMENT_RATES, "3:150,6:300" in basis points

	WebhookURL     string
	WebhookHashKey string

	RedisURL    string
	RedisShards int // ours: REDIS_SHARDS

	RedisMinReplicas    int           // REDIS_MIN_REPLICAS: replicas that must acknowledge a write before its answer
	RedisReplicaTimeout time.Duration // REDIS_REPLICA_TIMEOUT: how long to wait for them
	RedisWaitAOF        bool          // ours: REDIS_WAIT_AOF, also wait for the AOF fsync (WAITAOF, Redis 7.2+)
	OrderRetention      time.Duration // ORDER_RETENTION: how long an order's session and history live after its latest change

	MerchantsFile string

	IdempotencyTTL       time.Duration
	SessionTTL           time.Duration
	WebhookRetrySchedule []time.Duration

	AdminUsername string
	AdminPassword string

	WebhookTimeout time.Duration // ours: WEBHOOK_TIMEOUT, one attempt
	WebhookPoll    time.Duration // ours: WEBHOOK_POLL, how often an idle sender looks
	JobsInterval   time.Duration // ours: JOBS_INTERVAL, expiry and pending checks
	Replica        string        // ours: REPLICA_NAME, in logs and attempt records; hostname-pid when unset

	// Ours: a request holds its claimed guid or hosted payment for
	// RequestLease; once the lease and ReconcileMargin have passed, the
	// reconciler settles the item still in doubt by asking the processor.
	RequestLease      time.Duration // REQUEST_LEASE
	ReconcileInterval time.Duration // RECONCILE_INTERVAL, how often the reconciler looks
	ReconcileMargin   time.Duration // RECONCILE_MARGIN, added to the lease
	ProcessorTimeout  time.Duration // PROCESSOR_TIMEOUT, one processor call
	FinishRetry       time.Duration // FINISH_RETRY, how long a request retries storing its outcome after the processor acted
	ReadyInterval     time.Duration // READY_INTERVAL, how often readiness is re-checked

	SandboxRedisURL string // ours: SANDBOX_REDIS_URL, the sandbox processor's store; "" = the REDIS_URL store

	// ProcessorEnv holds the processors' own variables (SANDBOX_LATENCY…,
	// declared in each processor's package) as text, by name; each
	// merchant's section of that processor reads them.
	ProcessorEnv   map[string]string
	SandboxACSAddr string // SANDBOX_ACS_ADDR: the sandbox bank's 3-D Secure page listens here
	SandboxACSURL  string // SANDBOX_ACS_URL: its public base URL; empty = the listener's own

	DevMode   bool
	LogLevel  zapcore.Level
	LogFormat string // ours: LOG_FORMAT, json or console

	// Ours: what the gateway allows a client before it refuses.
	WebhookAllowPrivate bool             // WEBHOOK_ALLOW_PRIVATE
	AdminAddr           string           // ADMIN_ADDR: the operator endpoints' own listener
	Throttle            extension.Limits // THROTTLE_*
	MaxConns            int              // MAX_CONNS: open connections on the main listener
	MaxConnsPerIP       int              // MAX_CONNS_PER_IP: from one client address (IPv6: one IPV6_PREFIX)
	IPv6Prefix          int              // IPV6_PREFIX: the leading bits of an IPv6 address that name one client
	IdleTimeout         time.Duration    // IDLE_TIMEOUT: a keep-alive connection doing nothing
	HeaderTimeout       time.Duration    // HEADER_TIMEOUT: the longest a request's header block may take
	ReadTimeout         time.Duration    // READ_TIMEOUT: the longest a whole request (headers and body) may take
	BodyMinRate         int              // BODY_MIN_RATE: bytes a second a body must average once BODY_GRACE has passed
	BodyGrace           time.Duration    // BODY_GRACE: how long a body may take before its rate is checked
	TrustedProxies      []*net.IPNet     // TRUSTED_PROXIES: whose X-Forwarded-For names the client
	OtelEndpoint        string           // OTEL_EXPORTER_OTLP_ENDPOINT: where traces go; "" = tracing off

	// What stands in for production parts, refused outside DEV_MODE unless
	// asked for: a merchant's bank and the store.
	Processor          string // PROCESSOR: the single merchant's processor (knownProcessors)
	AllowSandbox       bool   // ALLOW_SANDBOX: the sandbox bank may take payments outside DEV_MODE
	AllowEmbeddedStore bool   // ALLOW_EMBEDDED_STORE: the embedded store may run outside DEV_MODE
}

// minPassword is the shortest merchant password accepted outside DEV_MODE.
const minPassword = 16

// Development credentials, accepted only with DEV_MODE=1.
const (
	devUsername = "akinon"
	devPassword = "akinon-dev-password"
	devHashKey  = "dev-hash-key-0123456789abcdef0123456789"
)

// variable is one row of the configuration table: an environment
// variable, its default in its own syntax, whether it is a secret, how a
// value is read into its Config field and how the field is logged.
type variable struct {
	name   string
	def    string // "" leaves the field at its zero value
	devDef string // the default in DEV_MODE where it differs ("" where not)
	secret bool   // logged masked: "***", or a URL without its password
	parse  func(string) error
	show   func() any // the effective value, for the configuration log line
}

// variables is the configuration table, bound to c's fields. Every
// variable the gateway reads is a row here, so each is parsed, defaulted
// and logged the same way. An empty value means the default.
func (c *Config) variables() []variable {
	return append([]variable{
		text("ADDR", ":8080", &c.Addr),
		text("PUBLIC_URL", "http://localhost:8080", &c.PublicURL),
		text("GATEWAY_USERNAME", "", &c.Username),
		secret("GATEWAY_PASSWORD", &c.Password),
		secret("HASH_KEY", &c.HashKey),
		text("HASH_SCHEME", string(hashing.DefaultScheme), &c.HashScheme),
		bind("RETURN_URL_HOSTS", "", &c.ReturnHost, parseList, same[[]string]),
		bind("INSTALLMENT_RATES", formatRates(provider.DefaultInstallmentRates()), &c.Rates, parseRates, formatRates),
		bind("WEBHOOK_URL", "", &c.WebhookURL, asIs, maskURL),
		secret("WEBHOOK_HASH_KEY", &c.WebhookHashKey),
		redisURL("REDIS_URL", &c.RedisURL),
		bind("REDIS_SHARDS", "1", &c.RedisShards, parseShards, same[int]),
		bind("REDIS_MIN_REPLICAS", "0", &c.RedisMinReplicas, parseReplicas, same[int]),
		duration("REDIS_REPLICA_TIMEOUT", "500ms", &c.RedisReplicaTimeout),
		bind("REDIS_WAIT_AOF", "0", &c.RedisWaitAOF, parseFlag, same[bool]),
		duration("ORDER_RETENTION", "9600h", &c.OrderRetention),
		redisURL("SANDBOX_REDIS_URL", &c.SandboxRedisURL),
		text("MERCHANTS_FILE", "", &c.MerchantsFile),
		duration("IDEMPOTENCY_TTL", "24h", &c.IdempotencyTTL),
		duration("SESSION_TTL", "30m", &c.SessionTTL),
		bind("WEBHOOK_RETRY_SCHEDULE", "0s,10s,1m,5m,30m,2h,6h,12h,24h", &c.WebhookRetrySchedule, parseSchedule, formatSchedule),
		text("SANDBOX_ACS_ADDR", "127.0.0.1:0", &c.SandboxACSAddr),
		bind("SANDBOX_ACS_URL", "", &c.SandboxACSURL, parseACSURL, same[string]),
		duration("WEBHOOK_TIMEOUT", "10s", &c.WebhookTimeout),
		duration("WEBHOOK_POLL", "500ms", &c.WebhookPoll),
		duration("JOBS_INTERVAL", "1s", &c.JobsInterval),
		duration("REQUEST_LEASE", "30s", &c.RequestLease),
		duration("PROCESSOR_TIMEOUT", "8s", &c.ProcessorTimeout),
		duration("FINISH_RETRY", "5s", &c.FinishRetry),
		duration("RECONCILE_INTERVAL", "5s", &c.ReconcileInterval),
		duration("RECONCILE_MARGIN", "10s", &c.ReconcileMargin),
		duration("READY_INTERVAL", "2s", &c.ReadyInterval),
		text("REPLICA_NAME", "", &c.Replica), // "" becomes hostname-pid in LoadConfig
		text("ADMIN_USERNAME", "", &c.AdminUsername),
		secret("ADMIN_PASSWORD", &c.AdminPassword),
		bind("DEV_MODE", "0", &c.DevMode, parseFlag, same[bool]),
		bind("LOG_LEVEL", "info", &c.LogLevel, parseLevel, zapcore.Level.String),
		bind("LOG_FORMAT", "json", &c.LogFormat, parseLogFormat, same[string]),
		bind("WEBHOOK_ALLOW_PRIVATE", "0", &c.WebhookAllowPrivate, parseFlag, same[bool]),
		text("ADMIN_ADDR", "", &c.AdminAddr),
		limit("THROTTLE_AUTH_IP", "20/1m", &c.Throttle.AuthIP),
		limit("THROTTLE_AUTH_USER", "100/1m", &c.Throttle.AuthUser),
		// A developer's machine pays from one address with the same few
		// test cards, and load runs pay hundreds a second: card
		// throttles are off in DEV_MODE unless set.
		inDev(limit("THROTTLE_CARD_IP", "20/10m", &c.Throttle.CardIP), "0"),
		inDev(limit("THROTTLE_CARD_MERCHANT", "3000/1m", &c.Throttle.CardMerchant), "0"),
		inDev(limit("THROTTLE_CARD_BIN", "30/10m", &c.Throttle.CardBIN), "0"),
		bind("MAX_CONNS", "2048", &c.MaxConns, parseConns, same[int]),
		bind("MAX_CONNS_PER_IP", "256", &c.MaxConnsPerIP, parseConns, same[int]),
		bind("IPV6_PREFIX", "64", &c.IPv6Prefix, parsePrefix, same[int]),
		duration("IDLE_TIMEOUT", "30s", &c.IdleTimeout),
		duration("HEADER_TIMEOUT", "5s", &c.HeaderTimeout),
		duration("READ_TIMEOUT", "20s", &c.ReadTimeout),
		bind("BODY_MIN_RATE", "1024", &c.BodyMinRate, parseRate, same[int]),
		duration("BODY_GRACE", "3s", &c.BodyGrace),
		bind("TRUSTED_PROXIES", "", &c.TrustedProxies, parseCIDRs, formatCIDRs),
		bind("OTEL_EXPORTER_OTLP_ENDPOINT", "", &c.OtelEndpoint, asIs, maskURL),
		inDev(text("PROCESSOR", "", &c.Processor), sandbox.Name),
		bind("ALLOW_SANDBOX", "0", &c.AllowSandbox, parseFlag, same[bool]),
		bind("ALLOW_EMBEDDED_STORE", "0", &c.AllowEmbeddedStore, parseFlag, same[bool]),
	}, c.processorVariables()...)
}

// bind makes a row that parses into *dst and logs show(*dst).
func bind[T, S any](name, def string, dst *T, parse func(string) (T, error), show func(T) S) variable {
	return variable{
		name: name,
		def:  def,
		parse: func(v string) error {
			x, err := parse(v)
			if err != nil {
				return err
			}
			*dst = x
			return nil
		},
		show: func() any { return show(*dst) },
	}
}

// inDev gives a row another default in DEV_MODE.
func inDev(v variable, def string) variable {
	v.devDef = def
	return v
}

func text(name, def string, dst *string) variable {
	return bind(name, def, dst, asIs, same[string])
}

func secret(name string, dst *string) variable {
	v := bind(name, "", dst, asIs, mask)
	v.secret = true
	return v
}

func redisURL(name string, dst *string) variable {
	v := bind(name, "", dst, parseRedisURL, maskURL)
	v.secret = true
	return v
}

func duration(name, def string, dst *time.Duration) variable {
	return bind(name, def, dst, parseDuration, time.Duration.String)
}

// DefaultConfig is every variable at its default.
func DefaultConfig() Config {
	var c Config
	for _, v := range c.variables() {
		if v.def == "" {
			continue
		}
		if err := v.parse(v.def); err != nil {
			panic(fmt.Sprintf("the default of %s: %v", v.name, err))
		}
	}
	return c
}

// LoadConfig reads the environment over the defaults, then fills the
// values that default to something computed. A value that cannot be
// parsed is an error naming its variable.
func LoadConfig(env func(string) string) (Config, error) {
	c := DefaultConfig()
	var errs []error
	for _, v := range c.variables() {
		if s := env(v.name); s != "" {
			if err := v.parse(s); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", v.name, err))
			}
		}
	}
	for _, v := range c.variables() {
		if c.DevMode && v.devDef != "" && env(v.name) == "" {
			if err := v.parse(v.devDef); err != nil {
				panic(fmt.Sprintf("the DEV_MODE default of %s: %v", v.name, err))
			}
		}
	}
	c.fillComputed(env("PUBLIC_URL") != "")
	return c, errors.Join(errs...)
}

// fillComputed sets the defaults that are not constants: the replica's
// name and, in DEV_MODE only, the development credentials and a
// PUBLIC_URL that follows ADDR.
func (c *Config) fillComputed(publicURLSet bool) {
	if c.Replica == "" {
		host, _ := os.Hostname()
		c.Replica = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.DevMode && !publicURLSet {
		// A developer who moves the gateway to another port must not be
		// sent by redirectUrl to the old one.
		if host, port, err := net.SplitHostPort(c.Addr); err == nil {
			if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
				host = "localhost"
			}
			c.PublicURL = "http://" + net.JoinHostPort(host, port)
		}
	}
	if c.DevMode && c.MerchantsFile == "" {
		// Development may run with no credentials at all; never production.
		if c.Username == "" && c.Password == "" {
			c.Username, c.Password = devUsername, devPassword
		}
		if c.HashKey == "" {
			c.HashKey = devHashKey
		}
	}
}

// Validate refuses a configuration the gateway must not start with. The
// merchants, from the single-merchant variables or MERCHANTS_FILE, are
// checked by Merchants.
func (c Config) Validate() error {
	_, merchants := c.Merchants()
	return errors.Join(c.checkPublicURL(), c.checkAdmin(), c.checkLease(), c.checkDurability(), c.checkEmbedded(),
		c.checkWebhookTargets(), merchants, c.checkSandbox())
}

// checkEmbedded refuses the embedded in-memory store outside DEV_MODE
// unless ALLOW_EMBEDDED_STORE=1: a REDIS_URL left out (or misspelt) must
// not start a gateway that forgets every payment at its next restart.
func (c Config) checkEmbedded() error {
	if c.RedisURL != "" || c.DevMode || c.AllowEmbeddedStore {
		return nil
	}
	return errors.New("REDIS_URL: is not set, and outside DEV_MODE the embedded in-memory store is refused " +
		"(it loses every guid, order and queued webhook at a restart, and replicas cannot share it): " +
		"set REDIS_URL, or ALLOW_EMBEDDED_STORE=1 to run on it on purpose")
}

// checkSandbox refuses the sandbox bank outside DEV_MODE unless
// ALLOW_SANDBOX=1: it approves test cards and moves no money, so a shop
// on it would ship goods nobody paid for.
func (c Config) checkSandbox() error {
	if c.DevMode || c.AllowSandbox {
		return nil
	}
	ms, err := c.Merchants()
	if err != nil {
		return nil // reported by Validate
	}
	var errs []error
	for _, m := range ms.All() {
		if !slices.Contains(m.Processors, sandbox.Name) {
			continue
		}
		name := "PROCESSOR"
		if c.MerchantsFile != "" {
			name = fmt.Sprintf("MERCHANTS_FILE: merchant %q: processor", m.ID)
		}
		errs = append(errs, fmt.Errorf("%s: %q is the test bank (it approves test cards and moves no money), "+
			"refused outside DEV_MODE: name the merchant's bank, or set ALLOW_SANDBOX=1 to run the sandbox on purpose "+
			"(a public test environment)", name, sandbox.Name))
	}
	return errors.Join(errs...)
}

// checkWebhookTargets refuses webhook URLs on internal addresses outside
// DEV_MODE, unless WEBHOOK_ALLOW_PRIVATE=1 (webhook.CheckTarget).
func (c Config) checkWebhookTargets() error {
	if c.DevMode || c.WebhookAllowPrivate {
		return nil
	}
	ms, err := c.Merchants()
	if err != nil {
		return nil // reported by Validate
	}
	var errs []error
	for _, m := range ms.All() {
		if m.WebhookURL == "" {
			continue
		}
		if err := webhook.CheckTarget(context.Background(), m.WebhookURL); err != nil {
			name := "WEBHOOK_URL"
			if c.MerchantsFile != "" {
				name = fmt.Sprintf("MERCHANTS_FILE: merchant %q: webhookUrl", m.ID)
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// checkDurability: waiting for replicas needs a Redis that has them.
func (c Config) checkDurability() error {
	if c.RedisURL == "" && (c.RedisMinReplicas > 0 || c.RedisWaitAOF) {
		return fmt.Errorf("REDIS_MIN_REPLICAS and REDIS_WAIT_AOF need REDIS_URL: the embedded store has no replicas")
	}
	return nil
}

// checkLease: the reconciler may settle a guid or a hosted payment once
// its request's lease has passed, so the lease must outlast the request:
// up to three processor calls and the retries of its final write.
func (c Config) checkLease() error {
	need := 3*c.ProcessorTimeout + c.FinishRetry
	if c.RequestLease > need {
		return nil
	}
	return fmt.Errorf("REQUEST_LEASE: %v must be longer than 3 × PROCESSOR_TIMEOUT (%v) + FINISH_RETRY (%v) = %v: "+
		"the lease must outlast a request's processor calls and its final write, "+
		"or the reconciler may settle a payment the request is still making",
		c.RequestLease, c.ProcessorTimeout, c.FinishRetry, need)
}

func (c Config) checkPublicURL() error {
	if err := checkHTTPURL(c.PublicURL, c.DevMode); err != nil {
		return fmt.Errorf("PUBLIC_URL: %w", err)
	}
	return nil
}

func (c Config) checkAdmin() error {
	switch {
	case (c.AdminUsername == "") != (c.AdminPassword == ""):
		return errors.New("ADMIN_USERNAME and ADMIN_PASSWORD go together")
	case c.AdminPassword != "" && len(c.AdminPassword) < 12 && !c.DevMode:
		return errors.New("ADMIN_PASSWORD: must be at least 12 characters")
	}
	return nil
}

// Merchants builds the merchant list: from MERCHANTS_FILE, or the one
// merchant of the single-merchant variables. Both go through
// merchantSpec.build, so a rule refuses the same value in either.
func (c Config) Merchants() (*extension.Merchants, error) {
	ms, _, err := c.merchants()
	return ms, err
}

// merchants builds the merchant list and each merchant's processor
// sections, by merchant id, the default first.
func (c Config) merchants() (*extension.Merchants, map[string][]*processors.Section, error) {
	env := c.processorEnv()
	if c.MerchantsFile == "" {
		m, secs, err := c.envMerchant().build(c.DevMode, env, func(key string) string { return envMerchantVars[key] })
		if err != nil {
			return nil, nil, err
		}
		ms, err := extension.NewMerchants([]*extension.Merchant{m})
		return ms, map[string][]*processors.Section{m.ID: secs}, err
	}
	specs, err := readMerchantsFile(c.MerchantsFile)
	if err != nil {
		return nil, nil, fmt.Errorf("MERCHANTS_FILE: %w", err)
	}
	list := make([]*extension.Merchant, 0, len(specs))
	sections := make(map[string][]*processors.Section, len(specs))
	var errs []error
	for i, spec := range specs {
		if len(spec.Processors) == 0 {
			spec.Processors = processorSections{{Name: c.Processor}}
		}
		where := fmt.Sprintf("MERCHANTS_FILE: merchant %d (%q)", i, spec.ID)
		m, secs, err := spec.build(c.DevMode, env, func(key string) string { return where + ": " + key })
		errs = append(errs, err)
		list = append(list, m)
		sections[spec.ID] = secs
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	ms, err := extension.NewMerchants(list)
	if err != nil {
		return nil, nil, fmt.Errorf("MERCHANTS_FILE: %w", err)
	}
	return ms, sections, nil
}

// LogFields describes the configuration, one field per variable keyed by
// its lower-case name, with the effective values and every secret masked.
func (c Config) LogFields() []zap.Field {
	vars := c.variables()
	fields := make([]zap.Field, len(vars))
	for i, v := range vars {
		fields[i] = zap.Any(strings.ToLower(v.name), v.show())
	}
	return fields
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}

// maskURL hides what a URL may carry of a secret: the password (or a
// lone user, which may be a token), and every query value. A value that
// does not parse is masked whole.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return mask(raw)
	}
	var user string
	if u.User != nil {
		user = u.User.Username() + ":***@"
		if _, has := u.User.Password(); !has {
			user = "***@"
		}
		u.User = nil
	}
	if u.RawQuery != "" {
		q := u.Query()
		keys := slices.Sorted(maps.Keys(q))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = url.QueryEscape(k) + "=***"
		}
		u.RawQuery = ""
		return insertUser(u.String(), user) + "?" + strings.Join(parts, "&")
	}
	return insertUser(u.String(), user)
}

// insertUser puts masked user info after a URL's "//"; url.UserPassword
// would escape the mask to %2A%2A%2A.
func insertUser(s, user string) string {
	if user == "" {
		return s
	}
	i := strings.Index(s, "//") + len("//")
	return s[:i] + user + s[i:]
}

func isLocal(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// checkHTTPURL: an absolute http(s) URL, https outside DEV_MODE unless
// it is this machine.
func checkHTTPURL(raw string, dev bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q must be an absolute http(s) URL", raw)
	}
	if u.Scheme == "http" && !dev && !isLocal(u.Hostname()) {
		return fmt.Errorf("must be https outside DEV_MODE")
	}
	return nil
}

// The parsers of the table: each reads one value, or says in an error
// (which LoadConfig prefixes with the variable) what it expected.

func same[T any](v T) T { return v }

func asIs(v string) (string, error) { return v, nil }

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 30m", v)
	}
	return d, nil
}

func parseShards(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 16384 {
		return 0, fmt.Errorf("%q is not a number from 1 to 16384", v)
	}
	return n, nil
}

// limit is a row of a throttle: "N/period", or 0 for none.
func limit(name, def string, dst *provider.Limit) variable {
	return bind(name, def, dst, extension.ParseLimit, extension.FormatLimit)
}

func parseConns(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a number of connections (0: no limit)", v)
	}
	return n, nil
}

func parsePrefix(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 128 {
		return 0, fmt.Errorf("%q is not an IPv6 prefix length from 1 to 128 (64: one subscriber's network)", v)
	}
	return n, nil
}

func parseRate(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a number of bytes a second (0: no minimum)", v)
	}
	return n, nil
}

func parseCIDRs(v string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of addresses or CIDRs such as 10.0.0.0/8,192.168.1.7", v)
		}
		out = append(out, n)
	}
	return out, nil
}

func formatCIDRs(ns []*net.IPNet) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return strings.Join(parts, ",")
}

func parseReplicas(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 16 {
		return 0, fmt.Errorf("%q is not a number of replicas from 0 to 16", v)
	}
	return n, nil
}

func parseFlag(v string) (bool, error) {
	switch v {
	case "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, fmt.Errorf("%q is not 1 or 0", v)
}

func parseLevel(v string) (zapcore.Level, error) {
	var l zapcore.Level
	if err := l.Set(v); err != nil {
		return l, fmt.Errorf("%q is not a zap level (debug, info, warn, error)", v)
	}
	return l, nil
}

func parseLogFormat(v string) (string, error) {
	if v != "json" && v != "console" {
		return "", fmt.Errorf("%q is not json or console", v)
	}
	return v, nil
}

func parseRedisURL(v string) (string, error) {
	if _, err := redisOptions(v); err != nil {
		return "", err
	}
	return v, nil
}

// parseList reads a comma list, dropping blanks.
func parseList(v string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

func parseSchedule(v string) ([]time.Duration, error) {
	var out []time.Duration
	for _, p := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%q is not a list of durations such as 0s,10s,1m", v)
		}
		out = append(out, d)
	}
	return out, nil
}

func formatSchedule(s []time.Duration) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// parseRates reads INSTALLMENT_RATES; which counts and rates a merchant
// may have is merchantSpec.build's rule.
func parseRates(v string) (map[int]int, error) {
	rates := map[int]int{1: 0}
	for _, p := range strings.Split(v, ",") {
		n, bp, ok := strings.Cut(strings.TrimSpace(p), ":")
		count, err1 := strconv.Atoi(n)
		rate, err2 := strconv.Atoi(bp)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%q is not a list of count:basis-points such as 3:150,6:300", v)
		}
		rates[count] = rate
	}
	return rates, nil
}

// formatRates writes rates as INSTALLMENT_RATES reads them, by count.
func formatRates(rates map[int]int) string {
	parts := make([]string, 0, len(rates))
	for _, n := range slices.Sorted(maps.Keys(rates)) {
		parts = append(parts, fmt.Sprintf("%d:%d", n, rates[n]))
	}
	return strings.Join(parts, ",")
}

// merchantSpec is one merchant as configured: an entry of MERCHANTS_FILE,
// or the merchant of the single-merchant variables (envMerchant).
type merchantSpec struct {
	ID               string            `json:"id"`
	Username         string            `json:"username"`
	Password         string            `json:"password"`
	HashKey          string            `json:"hashKey"`
	HashScheme       string            `json:"hashScheme"`
	WebhookURL       string            `json:"webhookUrl"`
	WebhookHashKey   string            `json:"webhookHashKey"`
	ReturnHosts      []string          `json:"returnHosts"`
	InstallmentRates map[string]int    `json:"installmentRates"`
	Processors       processorSections `json:"processor"`
}

// processorSection is one of a merchant's processor sections: the
// processor's name and the section as written, with that processor's
// settings (processors.Registry.Section reads them).
type processorSection struct {
	Name string
	Raw  json.RawMessage
}

// processorSections are the processors a merchant may pay through, the
// first its default: one section, or a list of them. Without one the
// merchant uses PROCESSOR.
type processorSections []processorSection

func (p *processorSections) UnmarshalJSON(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil
	}
	list := []json.RawMessage{raw}
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return err
		}
	}
	for _, r := range list {
		var head struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(r, &head); err != nil {
			return fmt.Errorf("a processor section is an object such as {\"name\": \"sandbox\"}, or a list of them: %w", err)
		}
		*p = append(*p, processorSection{Name: head.Name, Raw: r})
	}
	return nil
}

// envMerchantVars names the single merchant's settings, by their JSON
// keys in MERCHANTS_FILE, after the variables they come from.
var envMerchantVars = map[string]string{
	"id":               "the single merchant's id",
	"username":         "GATEWAY_USERNAME",
	"password":         "GATEWAY_PASSWORD",
	"hashKey":          "HASH_KEY",
	"hashScheme":       "HASH_SCHEME",
	"webhookUrl":       "WEBHOOK_URL",
	"webhookHashKey":   "WEBHOOK_HASH_KEY",
	"returnHosts":      "RETURN_URL_HOSTS",
	"installmentRates": "INSTALLMENT_RATES",
	"processor":        "PROCESSOR",
}

// envMerchant is the merchant of the single-merchant variables.
func (c Config) envMerchant() merchantSpec {
	var rates map[string]int
	if c.Rates != nil {
		rates = make(map[string]int, len(c.Rates))
		for n, bp := range c.Rates {
			rates[strconv.Itoa(n)] = bp
		}
	}
	return merchantSpec{
		ID:               "default",
		Username:         c.Username,
		Password:         c.Password,
		HashKey:          c.HashKey,
		HashScheme:       c.HashScheme,
		WebhookURL:       c.WebhookURL,
		WebhookHashKey:   c.WebhookHashKey,
		ReturnHosts:      c.ReturnHost,
		InstallmentRates: rates,
		Processors:       processorSections{{Name: c.Processor}},
	}
}

// readMerchantsFile decodes MERCHANTS_FILE, refusing unknown fields.
func readMerchantsFile(path string) ([]merchantSpec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Merchants []merchantSpec `json:"merchants"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if len(f.Merchants) == 0 {
		return nil, errors.New("no merchants")
	}
	return f.Merchants, nil
}

// complaint records that the setting with a merchantSpec JSON key is wrong.
type complaint func(key, format string, args ...any)

// build holds every rule a merchant's settings must keep, wherever they
// come from; name(key) says how an error names the setting whose JSON
// key is key.
func (m merchantSpec) build(dev bool, env func(string) string, name func(key string) string) (*extension.Merchant, []*processors.Section, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name(key), fmt.Sprintf(format, args...)))
	}
	if !validID(m.ID) {
		bad("id", "must be 1-64 of [A-Za-z0-9_-]")
	}
	m.checkCredentials(dev, bad)
	scheme, err := hashing.ParseScheme(m.HashScheme)
	if err != nil {
		bad("hashScheme", "%v", err)
	}
	m.checkWebhook(dev, bad)
	sections := m.sections(env, bad)
	rates := m.rates(bad)
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	names := make([]string, len(sections))
	for i, sec := range sections {
		names[i] = sec.Name
	}
	return &extension.Merchant{
		Merchant:       provider.Merchant{ID: m.ID, InstallmentRates: rates, ReturnHosts: m.ReturnHosts},
		Username:       m.Username,
		Password:       m.Password,
		HashKey:        m.HashKey,
		HashScheme:     scheme,
		WebhookURL:     m.WebhookURL,
		WebhookHashKey: m.WebhookHashKey,
		Processor:      names[0],
		Processors:     names,
	}, sections, nil
}

// sections read the merchant's processor sections, each of a processor
// the gateway has and no two of the same one.
func (m merchantSpec) sections(env func(string) string, bad complaint) []*processors.Section {
	known := strings.Join(knownProcessors(), ", ")
	var out []*processors.Section
	for i, p := range m.Processors {
		key := "processor"
		if len(m.Processors) > 1 {
			key = fmt.Sprintf("processor[%d]", i)
		}
		switch {
		case p.Name == "":
			bad(key, "is required outside DEV_MODE: PROCESSOR or the merchant's processor section names its bank (known: %s)", known)
			continue
		case !slices.Contains(knownProcessors(), p.Name):
			bad(key, "%q is not a processor this gateway has (known: %s)", p.Name, known)
			continue
		case slices.ContainsFunc(m.Processors[:i], func(q processorSection) bool { return q.Name == p.Name }):
			bad(key, "%q is listed twice", p.Name)
			continue
		}
		sec, err := registry.Section(p.Name, env, p.Raw)
		if err != nil {
			bad(key, "%s: %v", p.Name, err)
			continue
		}
		out = append(out, sec)
	}
	return out
}

// checkCredentials: the Basic credentials Akinon uses and the key that
// signs the return POST, none of them the development ones outside
// DEV_MODE.
func (m merchantSpec) checkCredentials(dev bool, bad complaint) {
	if m.Username == "" {
		bad("username", "is required")
	}
	switch {
	case m.Password == "":
		bad("password", "is required")
	case len(m.Password) < minPassword && !dev:
		bad("password", "must be at least %d characters outside DEV_MODE", minPassword)
	}
	if len(m.HashKey) < 32 {
		bad("hashKey", "must be at least 32 characters (it signs the return POST)")
	}
	if dev {
		return
	}
	for _, d := range []struct{ key, value, dev string }{
		{"username", m.Username, devUsername},
		{"password", m.Password, devPassword},
		{"hashKey", m.HashKey, devHashKey},
	} {
		if d.value == d.dev {
			bad(d.key, "is the development one, allowed only with DEV_MODE=1")
		}
	}
}

func (m merchantSpec) checkWebhook(dev bool, bad complaint) {
	if m.WebhookURL == "" {
		return
	}
	if err := checkHTTPURL(m.WebhookURL, dev); err != nil {
		bad("webhookUrl", "%v", err)
	}
	if len(m.WebhookHashKey) < 32 {
		bad("webhookHashKey", "must be at least 32 characters when webhooks are on (it signs them)")
	}
}

// rates are the installment counts offered and their interest in basis
// points: all counts at 0 % unless the merchant lists its own.
func (m merchantSpec) rates(bad complaint) map[int]int {
	if m.InstallmentRates == nil {
		return provider.DefaultInstallmentRates()
	}
	rates := map[int]int{1: 0}
	for _, k := range slices.Sorted(maps.Keys(m.InstallmentRates)) {
		bp := m.InstallmentRates[k]
		n, err := strconv.Atoi(k)
		if err != nil || !slices.Contains(provider.InstallmentCounts, n) || bp < 0 || bp > 10000 {
			bad("installmentRates", "%s:%d is not a count (2, 3, 6, 9, 12) with basis points 0-10000", k, bp)
			continue
		}
		rates[n] = bp
	}
	return rates
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
