package app

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

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/observe"
	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/settings"
)

// Config is the gateway's configuration, read from the environment
// variables the contract names (and a few of ours): the gateway's own
// settings, then each package's section. Every field with an env tag is a
// variable (settings.Fields); each section's package declares its
// defaults and rules.
type Config struct {
	Addr      string `env:"ADDR" doc:"listen address"`
	PublicURL string `env:"PUBLIC_URL" doc:"base of redirectUrl"`

	// The single merchant (merchantSpec), when there is no MERCHANTS_FILE.
	Username       string   `env:"GATEWAY_USERNAME"`
	Password       string   `env:"GATEWAY_PASSWORD" secret:"true"`
	HashKey        string   `env:"HASH_KEY" secret:"true"`
	HashScheme     string   `env:"HASH_SCHEME" doc:"hmac-sha512 or sha512-keylast"`
	ReturnHost     []string `env:"RETURN_URL_HOSTS"`
	Rates          rates    `env:"INSTALLMENT_RATES" doc:"count:basis-points, such as 3:150,6:300"`
	WebhookURL     string   `env:"WEBHOOK_URL" show:"url"`
	WebhookHashKey string   `env:"WEBHOOK_HASH_KEY" secret:"true"`
	Processor      string   `env:"PROCESSOR" dev:"sandbox" doc:"the single merchant's processor (processors.Builtin)"`

	MerchantsFile string `env:"MERCHANTS_FILE"`
	Replica       string `env:"REPLICA_NAME" doc:"in logs and attempt records; hostname-pid when unset"`
	DevMode       bool   `env:"DEV_MODE"`

	SandboxRedisURL redisstore.URL `env:"SANDBOX_REDIS_URL" secret:"url" doc:"the sandbox bank's store; empty: the REDIS_URL one"`
	SandboxACSAddr  string         `env:"SANDBOX_ACS_ADDR" doc:"the sandbox bank's 3-D Secure page listens here"`
	SandboxACSURL   acsURL         `env:"SANDBOX_ACS_URL" doc:"its public base URL; empty: the listener's own"`
	ReadyInterval   time.Duration  `env:"READY_INTERVAL" min:"1ns" doc:"how often readiness is re-checked"`

	// What stands in for production parts, refused outside DEV_MODE unless
	// asked for: a merchant's bank and the store.
	AllowSandbox       bool `env:"ALLOW_SANDBOX"`
	AllowEmbeddedStore bool `env:"ALLOW_EMBEDDED_STORE"`

	Service provider.Config     // the service's timings
	Store   redisstore.Settings // REDIS_*, ORDER_RETENTION
	Webhook webhook.Config      // WEBHOOK_*
	HTTP    extension.Settings  // the operator endpoints, throttles and the listener's limits
	Observe observe.Settings    // tracing and the log

	// ProcessorEnv holds the processors' own variables (SANDBOX_LATENCY…,
	// declared in each processor's package) as text, by name; each
	// merchant's section of that processor reads them.
	ProcessorEnv map[string]string

	// kinds are the processors this gateway can build: processors.Builtin,
	// and a test's own (WithProcessorKinds).
	kinds processors.Registry
}

// minPassword is the shortest merchant password accepted outside DEV_MODE.
const minPassword = 16

// Development credentials, accepted only with DEV_MODE=1.
const (
	devUsername = "akinon"
	devPassword = "akinon-dev-password"
	devHashKey  = "dev-hash-key-0123456789abcdef0123456789"
)

// DefaultConfig is every variable at its default: the gateway's own,
// here, and each section's, from its package.
func DefaultConfig() Config {
	return Config{
		Addr:           ":8080",
		PublicURL:      "http://localhost:8080",
		HashScheme:     string(hashing.DefaultScheme),
		Rates:          provider.DefaultInstallmentRates(),
		SandboxACSAddr: "127.0.0.1:0",
		ReadyInterval:  2 * time.Second,
		Service:        provider.DefaultConfig(),
		Store:          redisstore.DefaultSettings(),
		Webhook:        webhook.DefaultConfig(),
		HTTP:           extension.DefaultSettings(),
		Observe:        observe.DefaultSettings(),
		ProcessorEnv:   map[string]string{},
		kinds:          processors.Builtin,
	}
}

// processorKinds are the processors this gateway can build; a Config
// made as a literal builds the gateway's own.
func (c Config) processorKinds() processors.Registry {
	if c.kinds == nil {
		return processors.Builtin
	}
	return c.kinds
}

// variable is one row of the configuration table: a setting of a
// section, or a processor's variable.
type variable struct {
	name   string
	def    string // the default as one would write it ("" for none)
	secret bool   // logged masked: "***", or a URL without its password
	show   func() any
}

// variables are every variable the gateway reads, with its default
// and, bound to c, the value the configuration line shows.
func (c *Config) variables() []variable {
	d := DefaultConfig()
	defs := settings.Fields(&d)
	var rows []variable
	for i, f := range settings.Fields(c) {
		rows = append(rows, variable{name: f.Env, def: defs[i].Written(), secret: f.Secret, show: f.Show})
	}
	for _, pv := range c.processorKinds().Variables() {
		rows = append(rows, variable{name: pv.Name, def: pv.Default, secret: pv.Secret,
			show: func() any { return pv.Show(c.ProcessorEnv[pv.Name]) }})
	}
	return rows
}

// LoadConfig reads the environment over the defaults, then fills the
// values that default to something computed. A value that cannot be
// parsed is an error naming its variable.
func LoadConfig(env func(string) string) (Config, error) {
	return loadConfig(env, processors.Builtin)
}

// loadConfig is LoadConfig for a gateway that can build kinds.
func loadConfig(env func(string) string, kinds processors.Registry) (Config, error) {
	c := DefaultConfig()
	c.kinds = kinds
	errs := []error{settings.Load(&c, env)}
	for _, pv := range kinds.Variables() {
		if text := env(pv.Name); text != "" {
			if err := pv.Check(text); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", pv.Name, err))
				continue
			}
			c.ProcessorEnv[pv.Name] = text
		}
	}
	if c.DevMode {
		settings.LoadDev(&c, env)
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
	c.Webhook.Replica = c.Replica
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
	_, _, err := c.validate()
	return err
}

// validate checks the gateway's rules and each section's, and builds the
// merchants and their processor sections: MERCHANTS_FILE is read once.
func (c Config) validate() (*extension.Merchants, map[string][]*processors.Section, error) {
	ms, sections, merchants := c.merchants()
	err := errors.Join(c.checkPublicURL(), c.HTTP.Validate(c.DevMode), c.Service.Validate(), c.Store.Validate(),
		c.checkEmbedded(), c.checkWebhookTargets(ms), merchants, c.checkSandbox(ms))
	if err != nil {
		return nil, nil, err
	}
	return ms, sections, nil
}

// checkEmbedded refuses the embedded in-memory store outside DEV_MODE
// unless ALLOW_EMBEDDED_STORE=1: a REDIS_URL left out (or misspelt) must
// not start a gateway that forgets every payment at its next restart.
func (c Config) checkEmbedded() error {
	if c.Store.URL != "" || c.DevMode || c.AllowEmbeddedStore {
		return nil
	}
	return errors.New("REDIS_URL: is not set, and outside DEV_MODE the embedded in-memory store is refused " +
		"(it loses every guid, order and queued webhook at a restart, and replicas cannot share it): " +
		"set REDIS_URL, or ALLOW_EMBEDDED_STORE=1 to run on it on purpose")
}

// checkSandbox refuses the sandbox bank outside DEV_MODE unless
// ALLOW_SANDBOX=1: it approves test cards and moves no money, so a shop
// on it would ship goods nobody paid for.
func (c Config) checkSandbox(ms *extension.Merchants) error {
	if c.DevMode || c.AllowSandbox || ms == nil { // without merchants, validate reports why
		return nil
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
func (c Config) checkWebhookTargets(ms *extension.Merchants) error {
	if c.DevMode || c.Webhook.AllowPrivate || ms == nil { // without merchants, validate reports why
		return nil
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

func (c Config) checkPublicURL() error {
	if err := checkHTTPURL(c.PublicURL, c.DevMode); err != nil {
		return fmt.Errorf("PUBLIC_URL: %w", err)
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
		m, secs, err := c.envMerchant().build(c.DevMode, c.processorKinds(), env, func(key string) string { return envMerchantVars[key] })
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
		m, secs, err := spec.build(c.DevMode, c.processorKinds(), env, func(key string) string { return where + ": " + key })
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

// rates are installment counts and their interest in basis points, as
// INSTALLMENT_RATES writes them; which counts and rates a merchant may
// have is merchantSpec.build's rule.
type rates map[int]int

// UnmarshalText reads INSTALLMENT_RATES.
func (r *rates) UnmarshalText(text []byte) error {
	v := string(text)
	out := rates{1: 0}
	for _, p := range strings.Split(v, ",") {
		n, bp, ok := strings.Cut(strings.TrimSpace(p), ":")
		count, err1 := strconv.Atoi(n)
		rate, err2 := strconv.Atoi(bp)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("%q is not a list of count:basis-points such as 3:150,6:300", v)
		}
		out[count] = rate
	}
	*r = out
	return nil
}

// String writes rates as INSTALLMENT_RATES reads them, by count.
func (rates rates) String() string {
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
func (m merchantSpec) build(dev bool, kinds processors.Registry, env func(string) string, name func(key string) string) (*extension.Merchant, []*processors.Section, error) {
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
	sections := m.sections(kinds, env, bad)
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
func (m merchantSpec) sections(kinds processors.Registry, env func(string) string, bad complaint) []*processors.Section {
	known := strings.Join(kinds.Names(), ", ")
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
		case !slices.Contains(kinds.Names(), p.Name):
			bad(key, "%q is not a processor this gateway has (known: %s)", p.Name, known)
			continue
		case slices.ContainsFunc(m.Processors[:i], func(q processorSection) bool { return q.Name == p.Name }):
			bad(key, "%q is listed twice", p.Name)
			continue
		}
		sec, err := kinds.Section(p.Name, env, p.Raw)
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

// LogFields describes the configuration, one field per variable keyed by
// its lower-case name, with the effective values and every secret masked
// (by the sections' tags).
func (c Config) LogFields() []zap.Field {
	vars := c.variables()
	fields := make([]zap.Field, len(vars))
	for i, v := range vars {
		fields[i] = zap.Any(strings.ToLower(v.name), v.show())
	}
	return fields
}
