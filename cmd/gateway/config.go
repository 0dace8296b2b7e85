package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
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

	MerchantsFile string

	IdempotencyTTL       time.Duration
	SessionTTL           time.Duration
	WebhookRetrySchedule []time.Duration
	SandboxPendingDelay  time.Duration

	AdminUsername string
	AdminPassword string

	WebhookTimeout time.Duration // ours: WEBHOOK_TIMEOUT, one attempt
	WebhookPoll    time.Duration // ours: WEBHOOK_POLL, how often an idle sender looks
	JobsInterval   time.Duration // ours: JOBS_INTERVAL, expiry and pending checks
	Replica        string        // ours: REPLICA_NAME, in logs and attempt records

	DevMode  bool
	LogLevel zapcore.Level
}

// Development credentials, accepted only with DEV_MODE=1.
const (
	devUsername = "akinon"
	devPassword = "akinon-dev-password"
	devHashKey  = "dev-hash-key-0123456789abcdef0123456789"
)

// DefaultConfig is the contract's defaults.
func DefaultConfig() Config {
	return Config{
		Addr:                 ":8080",
		PublicURL:            "http://localhost:8080",
		RedisShards:          1,
		IdempotencyTTL:       24 * time.Hour,
		SessionTTL:           30 * time.Minute,
		WebhookRetrySchedule: mustSchedule("0s,10s,1m,5m,30m,2h,6h,12h,24h"),
		SandboxPendingDelay:  10 * time.Second,
		WebhookTimeout:       10 * time.Second,
		WebhookPoll:          500 * time.Millisecond,
		JobsInterval:         time.Second,
		LogLevel:             zapcore.InfoLevel,
	}
}

// LoadConfig reads the environment over the defaults. A value that cannot
// be parsed is an error naming its variable.
func LoadConfig(env func(string) string) (Config, error) {
	c := DefaultConfig()
	var errs []error
	str := func(name string, dst *string) {
		if v := env(name); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := env(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration such as 30m", name, v))
				return
			}
			*dst = d
		}
	}
	str("ADDR", &c.Addr)
	str("PUBLIC_URL", &c.PublicURL)
	str("GATEWAY_USERNAME", &c.Username)
	str("GATEWAY_PASSWORD", &c.Password)
	str("HASH_KEY", &c.HashKey)
	str("HASH_SCHEME", &c.HashScheme)
	str("WEBHOOK_URL", &c.WebhookURL)
	str("WEBHOOK_HASH_KEY", &c.WebhookHashKey)
	str("REDIS_URL", &c.RedisURL)
	str("MERCHANTS_FILE", &c.MerchantsFile)
	str("ADMIN_USERNAME", &c.AdminUsername)
	str("ADMIN_PASSWORD", &c.AdminPassword)
	dur("IDEMPOTENCY_TTL", &c.IdempotencyTTL)
	dur("SESSION_TTL", &c.SessionTTL)
	dur("SANDBOX_PENDING_DELAY", &c.SandboxPendingDelay)
	dur("WEBHOOK_TIMEOUT", &c.WebhookTimeout)
	dur("WEBHOOK_POLL", &c.WebhookPoll)
	dur("JOBS_INTERVAL", &c.JobsInterval)
	str("REPLICA_NAME", &c.Replica)
	if v := env("RETURN_URL_HOSTS"); v != "" {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				c.ReturnHost = append(c.ReturnHost, h)
			}
		}
	}
	if v := env("REDIS_SHARDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 16384 {
			errs = append(errs, fmt.Errorf("REDIS_SHARDS: %q is not a number from 1 to 16384", v))
		}
		c.RedisShards = n
	}
	if v := env("WEBHOOK_RETRY_SCHEDULE"); v != "" {
		s, err := parseSchedule(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("WEBHOOK_RETRY_SCHEDULE: %w", err))
		}
		c.WebhookRetrySchedule = s
	}
	if v := env("INSTALLMENT_RATES"); v != "" {
		r, err := parseRates(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("INSTALLMENT_RATES: %w", err))
		}
		c.Rates = r
	}
	switch v := env("DEV_MODE"); v {
	case "", "0", "false":
	case "1", "true":
		c.DevMode = true
	default:
		errs = append(errs, fmt.Errorf("DEV_MODE: %q is not 1 or 0", v))
	}
	if v := env("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not a zap level (debug, info, warn, error)", v))
		}
	}
	if c.DevMode {
		// Development may run with no credentials at all; never production.
		if c.Username == "" && c.Password == "" && c.MerchantsFile == "" {
			c.Username, c.Password = devUsername, devPassword
		}
		if c.HashKey == "" && c.MerchantsFile == "" {
			c.HashKey = devHashKey
		}
	}
	return c, errors.Join(errs...)
}

// Validate refuses a configuration the gateway must not start with.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("PUBLIC_URL: %q must be an absolute http(s) URL", c.PublicURL)
	} else if u.Scheme == "http" && !c.DevMode && !isLocal(u.Hostname()) {
		bad("PUBLIC_URL: must be https outside DEV_MODE (the card form is served there)")
	}
	if c.MerchantsFile == "" {
		if c.Username == "" || c.Password == "" {
			bad("GATEWAY_USERNAME and GATEWAY_PASSWORD are required (or MERCHANTS_FILE; DEV_MODE=1 allows development defaults)")
		}
		if len(c.HashKey) < 32 {
			bad("HASH_KEY: must be at least 32 characters (it signs the return POST)")
		}
		if _, err := hashing.ParseScheme(c.HashScheme); err != nil {
			bad("HASH_SCHEME: %v", err)
		}
		if c.WebhookURL != "" {
			if err := checkWebhookURL(c.WebhookURL, c.DevMode); err != nil {
				bad("WEBHOOK_URL: %v", err)
			}
			if len(c.WebhookHashKey) < 32 {
				bad("WEBHOOK_HASH_KEY: must be at least 32 characters when WEBHOOK_URL is set")
			}
		}
		if !c.DevMode && (c.Username == devUsername || c.Password == devPassword || c.HashKey == devHashKey) {
			bad("the development credentials are allowed only with DEV_MODE=1")
		}
	}
	if (c.AdminUsername == "") != (c.AdminPassword == "") {
		bad("ADMIN_USERNAME and ADMIN_PASSWORD go together")
	}
	if c.AdminPassword != "" && len(c.AdminPassword) < 12 && !c.DevMode {
		bad("ADMIN_PASSWORD: must be at least 12 characters")
	}
	if len(c.WebhookRetrySchedule) == 0 {
		bad("WEBHOOK_RETRY_SCHEDULE: needs at least one delay")
	}
	if c.RedisURL != "" {
		if _, err := redisOptions(c.RedisURL); err != nil {
			bad("REDIS_URL: %v", err)
		}
	}
	return errors.Join(errs...)
}

// Merchants builds the merchant list: from MERCHANTS_FILE, or the one
// merchant of the single-merchant variables.
func (c Config) Merchants() (*extension.Merchants, error) {
	if c.MerchantsFile != "" {
		return loadMerchants(c.MerchantsFile, c.DevMode)
	}
	scheme, _ := hashing.ParseScheme(c.HashScheme)
	rates := c.Rates
	if rates == nil {
		rates = provider.DefaultInstallmentRates()
	}
	return extension.NewMerchants([]*extension.Merchant{{
		Merchant:       provider.Merchant{ID: "default", InstallmentRates: rates, ReturnHosts: c.ReturnHost},
		Username:       c.Username,
		Password:       c.Password,
		HashKey:        c.HashKey,
		HashScheme:     scheme,
		WebhookURL:     c.WebhookURL,
		WebhookHashKey: c.WebhookHashKey,
	}})
}

// LogFields describes the configuration with every secret masked.
func (c Config) LogFields() []zap.Field {
	return []zap.Field{
		zap.String("addr", c.Addr),
		zap.String("public_url", c.PublicURL),
		zap.String("gateway_username", c.Username),
		zap.String("gateway_password", mask(c.Password)),
		zap.String("hash_key", mask(c.HashKey)),
		zap.String("hash_scheme", c.HashScheme),
		zap.Strings("return_url_hosts", c.ReturnHost),
		zap.String("webhook_url", c.WebhookURL),
		zap.String("webhook_hash_key", mask(c.WebhookHashKey)),
		zap.String("redis_url", maskURL(c.RedisURL)),
		zap.Int("redis_shards", c.RedisShards),
		zap.String("merchants_file", c.MerchantsFile),
		zap.Stringer("idempotency_ttl", c.IdempotencyTTL),
		zap.Stringer("session_ttl", c.SessionTTL),
		zap.String("webhook_retry_schedule", formatSchedule(c.WebhookRetrySchedule)),
		zap.Stringer("sandbox_pending_delay", c.SandboxPendingDelay),
		zap.Stringer("webhook_timeout", c.WebhookTimeout),
		zap.Stringer("webhook_poll", c.WebhookPoll),
		zap.Stringer("jobs_interval", c.JobsInterval),
		zap.String("replica", c.Replica),
		zap.String("admin_username", c.AdminUsername),
		zap.String("admin_password", mask(c.AdminPassword)),
		zap.Bool("dev_mode", c.DevMode),
		zap.String("log_level", c.LogLevel.String()),
	}
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}

func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return u.String()
}

func isLocal(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func checkWebhookURL(raw string, dev bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q must be an absolute http(s) URL", raw)
	}
	if u.Scheme == "http" && !dev && !isLocal(u.Hostname()) {
		return fmt.Errorf("must be https outside DEV_MODE")
	}
	return nil
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

func mustSchedule(v string) []time.Duration {
	s, err := parseSchedule(v)
	if err != nil {
		panic(err)
	}
	return s
}

func parseRates(v string) (map[int]int, error) {
	rates := map[int]int{1: 0}
	for _, p := range strings.Split(v, ",") {
		n, bp, ok := strings.Cut(strings.TrimSpace(p), ":")
		count, err1 := strconv.Atoi(n)
		rate, err2 := strconv.Atoi(bp)
		if !ok || err1 != nil || err2 != nil || rate < 0 || rate > 10000 || !validCount(count) {
			return nil, fmt.Errorf("%q is not a list of count:basis-points such as 3:150,6:300 (counts 2, 3, 6, 9, 12)", v)
		}
		rates[count] = rate
	}
	return rates, nil
}

func validCount(n int) bool {
	for _, c := range provider.InstallmentCounts {
		if c == n {
			return true
		}
	}
	return false
}

// merchantFile is MERCHANTS_FILE's JSON.
type merchantFile struct {
	Merchants []struct {
		ID               string         `json:"id"`
		Username         string         `json:"username"`
		Password         string         `json:"password"`
		HashKey          string         `json:"hashKey"`
		HashScheme       string         `json:"hashScheme"`
		WebhookURL       string         `json:"webhookUrl"`
		WebhookHashKey   string         `json:"webhookHashKey"`
		ReturnHosts      []string       `json:"returnHosts"`
		InstallmentRates map[string]int `json:"installmentRates"`
	} `json:"merchants"`
}

func loadMerchants(path string, dev bool) (*extension.Merchants, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("MERCHANTS_FILE: %w", err)
	}
	var f merchantFile
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("MERCHANTS_FILE: %w", err)
	}
	if len(f.Merchants) == 0 {
		return nil, fmt.Errorf("MERCHANTS_FILE: no merchants")
	}
	var list []*extension.Merchant
	var errs []error
	for i, m := range f.Merchants {
		where := fmt.Sprintf("MERCHANTS_FILE: merchant %d (%q)", i, m.ID)
		if !validID(m.ID) {
			errs = append(errs, fmt.Errorf("%s: id must be 1-64 of [A-Za-z0-9_-]", where))
		}
		if m.Username == "" || m.Password == "" {
			errs = append(errs, fmt.Errorf("%s: username and password are required", where))
		}
		if len(m.HashKey) < 32 {
			errs = append(errs, fmt.Errorf("%s: hashKey must be at least 32 characters", where))
		}
		scheme, err := hashing.ParseScheme(m.HashScheme)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: hashScheme: %w", where, err))
		}
		if m.WebhookURL != "" {
			if err := checkWebhookURL(m.WebhookURL, dev); err != nil {
				errs = append(errs, fmt.Errorf("%s: webhookUrl: %w", where, err))
			}
			if len(m.WebhookHashKey) < 32 {
				errs = append(errs, fmt.Errorf("%s: webhookHashKey must be at least 32 characters", where))
			}
		}
		rates := provider.DefaultInstallmentRates()
		if m.InstallmentRates != nil {
			rates = map[int]int{1: 0}
			for k, bp := range m.InstallmentRates {
				n, err := strconv.Atoi(k)
				if err != nil || !validCount(n) || bp < 0 || bp > 10000 {
					errs = append(errs, fmt.Errorf("%s: installmentRates: %q:%d is not a count (2, 3, 6, 9, 12) with basis points 0-10000", where, k, bp))
					continue
				}
				rates[n] = bp
			}
		}
		list = append(list, &extension.Merchant{
			Merchant:       provider.Merchant{ID: m.ID, InstallmentRates: rates, ReturnHosts: m.ReturnHosts},
			Username:       m.Username,
			Password:       m.Password,
			HashKey:        m.HashKey,
			HashScheme:     scheme,
			WebhookURL:     m.WebhookURL,
			WebhookHashKey: m.WebhookHashKey,
		})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return extension.NewMerchants(list)
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
