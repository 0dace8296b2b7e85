package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// envOf turns a map into the env function run and LoadConfig read.
func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// production is a complete configuration outside DEV_MODE.
func production(extra map[string]string) map[string]string {
	env := map[string]string{
		"PUBLIC_URL":       "https://pay.example.com",
		"GATEWAY_USERNAME": "shop-user",
		"GATEWAY_PASSWORD": "a-long-and-secret-password",
		"HASH_KEY":         strings.Repeat("k", 32),
		// The embedded store and the sandbox, asked for on purpose: the
		// tests of those refusals take these out.
		"PROCESSOR":            "sandbox",
		"ALLOW_SANDBOX":        "1",
		"ALLOW_EMBEDDED_STORE": "1",
	}
	maps.Copy(env, extra)
	return env
}

// logged is the configuration line LogFields makes, each value as JSON.
func logged(t *testing.T, c Config) map[string]string {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	zap.New(core).Info("configuration", c.LogFields()...)
	out := map[string]string{}
	for k, v := range logs.All()[0].ContextMap() {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(j)
	}
	return out
}

func hostnamePID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// variableCases is every variable of the table: what the configuration
// line shows with nothing set (def), a value (set) and what that shows
// (shown), and a value the variable refuses (bad; "" when any text goes,
// its rules being Validate's).
var variableCases = map[string]struct{ def, set, shown, bad string }{
	"ADDR":                        {`":8080"`, ":9999", `":9999"`, ""},
	"PUBLIC_URL":                  {`"http://localhost:8080"`, "https://pay.example.com", `"https://pay.example.com"`, ""},
	"GATEWAY_USERNAME":            {`""`, "shop", `"shop"`, ""},
	"GATEWAY_PASSWORD":            {`""`, "a-long-and-secret-password", `"***"`, ""},
	"HASH_KEY":                    {`""`, strings.Repeat("k", 32), `"***"`, ""},
	"HASH_SCHEME":                 {`"hmac-sha512"`, "sha512-keylast", `"sha512-keylast"`, ""},
	"RETURN_URL_HOSTS":            {`[]`, "a.example, b.example,", `["a.example","b.example"]`, ""},
	"INSTALLMENT_RATES":           {`"1:0,2:0,3:0,6:0,9:0,12:0"`, "3:150, 6:300", `"1:0,3:150,6:300"`, "3-150"},
	"WEBHOOK_URL":                 {`""`, "https://shop.example/hooks", `"https://shop.example/hooks"`, ""},
	"WEBHOOK_HASH_KEY":            {`""`, strings.Repeat("w", 32), `"***"`, ""},
	"REDIS_URL":                   {`""`, "redis://:pw@cache:6379/2", `"redis://:***@cache:6379/2"`, "ftp://cache:6379"},
	"REDIS_SHARDS":                {`1`, "16", `16`, "0"},
	"REDIS_POOL_SIZE":             {`64`, "8", `8`, "0"},
	"SANDBOX_REDIS_URL":           {`""`, "rediss://u:pw@sandbox:6380/1", `"rediss://u:***@sandbox:6380/1"`, "http://sandbox:6379"},
	"MERCHANTS_FILE":              {`""`, "/etc/gateway/merchants.json", `"/etc/gateway/merchants.json"`, ""},
	"IDEMPOTENCY_TTL":             {`"24h0m0s"`, "1h", `"1h0m0s"`, "24"},
	"SESSION_TTL":                 {`"30m0s"`, "90s", `"1m30s"`, "0s"},
	"WEBHOOK_RETRY_SCHEDULE":      {`"0s,10s,1m0s,5m0s,30m0s,2h0m0s,6h0m0s,12h0m0s,24h0m0s"`, "0s, 5s,1m", `"0s,5s,1m0s"`, "0s,-5s"},
	"SANDBOX_PENDING_DELAY":       {`"10s"`, "250ms", `"250ms"`, "soon"},
	"WEBHOOK_TIMEOUT":             {`"10s"`, "3s", `"3s"`, "-1s"},
	"WEBHOOK_POLL":                {`"500ms"`, "20ms", `"20ms"`, "fast"},
	"JOBS_INTERVAL":               {`"1s"`, "50ms", `"50ms"`, "1"},
	"REQUEST_LEASE":               {`"30s"`, "1m", `"1m0s"`, "30"},
	"PROCESSOR_TIMEOUT":           {`"8s"`, "2s", `"2s"`, "eight"},
	"FINISH_RETRY":                {`"5s"`, "10s", `"10s"`, "5"},
	"RECONCILE_INTERVAL":          {`"5s"`, "500ms", `"500ms"`, "0"},
	"RECONCILE_MARGIN":            {`"10s"`, "1m", `"1m0s"`, "-10s"},
	"READY_INTERVAL":              {`"2s"`, "250ms", `"250ms"`, "0s"},
	"SANDBOX_RETENTION":           {`"9600h0m0s"`, "720h", `"720h0m0s"`, "400d"},
	"SANDBOX_LATENCY":             {`"0s"`, "150ms", `"150ms"`, "-1s"},
	"SANDBOX_ACS_ADDR":            {`"127.0.0.1:0"`, "127.0.0.1:9443", `"127.0.0.1:9443"`, ""},
	"SANDBOX_ACS_URL":             {`""`, "https://acs.sandbox.example", `"https://acs.sandbox.example"`, "acs.sandbox.example:9443"},
	"REDIS_MIN_REPLICAS":          {`0`, "1", `1`, "-1"},
	"REDIS_REPLICA_TIMEOUT":       {`"500ms"`, "2s", `"2s"`, "0"},
	"REDIS_WAIT_AOF":              {`false`, "1", `true`, "yes"},
	"ORDER_RETENTION":             {`"9600h0m0s"`, "48h", `"48h0m0s"`, "1y"},
	"WEBHOOK_ALLOW_PRIVATE":       {`false`, "1", `true`, "maybe"},
	"ADMIN_ADDR":                  {`""`, "127.0.0.1:9090", `"127.0.0.1:9090"`, ""},
	"THROTTLE_AUTH_IP":            {`"20/1m"`, "5/30s", `"5/30s"`, "5"},
	"THROTTLE_AUTH_USER":          {`"100/1m"`, "0", `"0"`, "x/1m"},
	"THROTTLE_CARD_IP":            {`"20/10m"`, "3/1h", `"3/1h"`, "3/0s"},
	"THROTTLE_CARD_MERCHANT":      {`"3000/1m"`, "10/1s", `"10/1s"`, "-1/1m"},
	"THROTTLE_CARD_BIN":           {`"30/10m"`, "100/1h", `"100/1h"`, "100/"},
	"MAX_CONNS":                   {`2048`, "100", `100`, "-1"},
	"MAX_CONNS_PER_IP":            {`256`, "0", `0`, "many"},
	"IDLE_TIMEOUT":                {`"30s"`, "5s", `"5s"`, "0"},
	"IPV6_PREFIX":                 {`64`, "56", `56`, "129"},
	"HEADER_TIMEOUT":              {`"5s"`, "2s", `"2s"`, "0"},
	"READ_TIMEOUT":                {`"20s"`, "1m", `"1m0s"`, "soon"},
	"BODY_MIN_RATE":               {`1024`, "0", `0`, "fast"},
	"BODY_GRACE":                  {`"3s"`, "1s", `"1s"`, "-1s"},
	"TRUSTED_PROXIES":             {`""`, "10.0.0.0/8, 192.168.1.7", `"10.0.0.0/8,192.168.1.7/32"`, "10.0.0.0/99"},
	"OTEL_EXPORTER_OTLP_ENDPOINT": {`""`, "http://otel:4318", `"http://otel:4318"`, ""},
	"REPLICA_NAME":                {`"` + hostnamePID() + `"`, "gw-1", `"gw-1"`, ""},
	"ADMIN_USERNAME":              {`""`, "ops", `"ops"`, ""},
	"ADMIN_PASSWORD":              {`""`, "admin-password", `"***"`, ""},
	"DEV_MODE":                    {`false`, "1", `true`, "yes"},
	"LOG_LEVEL":                   {`"info"`, "debug", `"debug"`, "loud"},
	"LOG_FORMAT":                  {`"json"`, "console", `"console"`, "xml"},
	"PROCESSOR":                   {`""`, "sandbox", `"sandbox"`, ""},
	"ALLOW_SANDBOX":               {`false`, "1", `true`, "yes"},
	"ALLOW_EMBEDDED_STORE":        {`false`, "1", `true`, "on"},
}

// TestVariables reads each variable of the table alone: its default, a
// value, and a refused value, whose error starts with the variable's name.
func TestVariables(t *testing.T) {
	var table Config
	names := map[string]bool{}
	for _, v := range table.variables() {
		names[v.name] = true
		if _, ok := variableCases[v.name]; !ok {
			t.Errorf("%s is in the table but not in variableCases", v.name)
		}
	}
	for name := range variableCases {
		if !names[name] {
			t.Errorf("variableCases has %s, which the table does not", name)
		}
	}
	c, err := LoadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	defaults := logged(t, c)
	if len(defaults) != len(names) {
		t.Errorf("the configuration line has %d fields for %d variables", len(defaults), len(names))
	}
	for name, tc := range variableCases {
		t.Run(name, func(t *testing.T) {
			key := strings.ToLower(name)
			if got := defaults[key]; got != tc.def {
				t.Errorf("default: logged %s = %s, want %s", key, got, tc.def)
			}
			c, err := LoadConfig(envOf(map[string]string{name: tc.set}))
			if err != nil {
				t.Fatalf("%s=%q: %v", name, tc.set, err)
			}
			if got := logged(t, c)[key]; got != tc.shown {
				t.Errorf("%s=%q: logged %s = %s, want %s", name, tc.set, key, got, tc.shown)
			}
			if tc.bad == "" {
				return
			}
			_, err = LoadConfig(envOf(map[string]string{name: tc.bad}))
			if err == nil || !strings.HasPrefix(err.Error(), name+": ") {
				t.Errorf("%s=%q: error %v, want one starting %q", name, tc.bad, err, name+": ")
			}
		})
	}
}

// TestLogFieldsEffective: the line shows what the gateway runs with, not
// the empty variables: DEV_MODE's credentials (masked), the hash scheme
// and the replica's computed name.
func TestLogFieldsEffective(t *testing.T) {
	c, err := LoadConfig(envOf(map[string]string{"DEV_MODE": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	got := logged(t, c)
	for key, want := range map[string]string{
		"gateway_username": `"akinon"`,
		"gateway_password": `"***"`,
		"hash_key":         `"***"`,
		"hash_scheme":      `"hmac-sha512"`,
		"replica_name":     `"` + hostnamePID() + `"`,
		"dev_mode":         `true`,
	} {
		if got[key] != want {
			t.Errorf("logged %s = %s, want %s", key, got[key], want)
		}
	}
}

// TestDevModeDefaults: in DEV_MODE the card throttles default to off (a
// developer pays from one address with the same test cards), a value set
// still counts, and outside DEV_MODE the defaults hold.
func TestDevModeDefaults(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want [3]string // card per IP, per merchant, per BIN, as logged
	}{
		{map[string]string{"DEV_MODE": "1"}, [3]string{`"0"`, `"0"`, `"0"`}},
		{map[string]string{"DEV_MODE": "1", "THROTTLE_CARD_IP": "5/1m"}, [3]string{`"5/1m"`, `"0"`, `"0"`}},
		{map[string]string{}, [3]string{`"20/10m"`, `"3000/1m"`, `"30/10m"`}},
	}
	for _, tt := range tests {
		c, err := LoadConfig(envOf(tt.env))
		if err != nil {
			t.Fatal(err)
		}
		got := logged(t, c)
		if g := [3]string{got["throttle_card_ip"], got["throttle_card_merchant"], got["throttle_card_bin"]}; g != tt.want {
			t.Errorf("%v: card throttles %v, want %v", tt.env, g, tt.want)
		}
	}
}

// TestConfigRefused: each row is one mistake, and the error names it.
func TestConfigRefused(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // in the error; "" for a configuration that starts
	}{
		{"complete", production(nil), ""},
		{"DEV_MODE alone", map[string]string{"DEV_MODE": "1"}, ""},
		{"HASH_KEY of 32", production(map[string]string{"HASH_KEY": strings.Repeat("x", 32)}), ""},
		{"HASH_KEY of 31", production(map[string]string{"HASH_KEY": strings.Repeat("x", 31)}), "HASH_KEY"},
		{"no HASH_KEY", production(map[string]string{"HASH_KEY": ""}), "HASH_KEY"},
		{"short HASH_KEY in DEV_MODE", production(map[string]string{"DEV_MODE": "1", "HASH_KEY": "short"}), "HASH_KEY"},
		{"no username", production(map[string]string{"GATEWAY_USERNAME": ""}), "GATEWAY_USERNAME"},
		{"no password", production(map[string]string{"GATEWAY_PASSWORD": ""}), "GATEWAY_PASSWORD"},
		{"password of 16", production(map[string]string{"GATEWAY_PASSWORD": strings.Repeat("p", 16)}), ""},
		{"password of 15", production(map[string]string{"GATEWAY_PASSWORD": strings.Repeat("p", 15)}), "GATEWAY_PASSWORD: must be at least 16 characters"},
		{"password of 15 in DEV_MODE", production(map[string]string{"DEV_MODE": "1", "GATEWAY_PASSWORD": strings.Repeat("p", 15)}), ""},
		{"file merchant password of 15", withMerchantsFile(t, fileMerchant(map[string]any{"password": strings.Repeat("p", 15)})), `merchant 0 ("shop-a"): password: must be at least 16 characters`},
		{"file merchant password of 15 in DEV_MODE", withDev(withMerchantsFile(t, fileMerchant(map[string]any{"password": strings.Repeat("p", 15)}))), ""},
		{"no credentials at all", map[string]string{"HASH_KEY": strings.Repeat("k", 40), "PUBLIC_URL": "https://p.example"}, "GATEWAY_USERNAME"},
		{"dev username outside DEV_MODE", production(map[string]string{"GATEWAY_USERNAME": devUsername}), "DEV_MODE"},
		{"dev password outside DEV_MODE", production(map[string]string{"GATEWAY_PASSWORD": devPassword}), "DEV_MODE"},
		{"dev hash key outside DEV_MODE", production(map[string]string{"HASH_KEY": devHashKey}), "DEV_MODE"},
		{"dev credentials in DEV_MODE", production(map[string]string{"DEV_MODE": "1", "GATEWAY_USERNAME": devUsername, "GATEWAY_PASSWORD": devPassword}), ""},
		{"DEV_MODE=yes", production(map[string]string{"DEV_MODE": "yes"}), "DEV_MODE"},
		{"SESSION_TTL not a duration", production(map[string]string{"SESSION_TTL": "thirty"}), "SESSION_TTL"},
		{"SESSION_TTL zero", production(map[string]string{"SESSION_TTL": "0s"}), "SESSION_TTL"},
		{"IDEMPOTENCY_TTL negative", production(map[string]string{"IDEMPOTENCY_TTL": "-1h"}), "IDEMPOTENCY_TTL"},
		{"IDEMPOTENCY_TTL without unit", production(map[string]string{"IDEMPOTENCY_TTL": "24"}), "IDEMPOTENCY_TTL"},
		{"SANDBOX_PENDING_DELAY bad", production(map[string]string{"SANDBOX_PENDING_DELAY": "soon"}), "SANDBOX_PENDING_DELAY"},
		{"WEBHOOK_RETRY_SCHEDULE bad", production(map[string]string{"WEBHOOK_RETRY_SCHEDULE": "0s,x"}), "WEBHOOK_RETRY_SCHEDULE"},
		{"WEBHOOK_RETRY_SCHEDULE negative", production(map[string]string{"WEBHOOK_RETRY_SCHEDULE": "0s,-5s"}), "WEBHOOK_RETRY_SCHEDULE"},
		{"webhook without its key", production(map[string]string{"WEBHOOK_URL": "https://shop.example/hooks"}), "WEBHOOK_HASH_KEY"},
		{"webhook key too short", production(map[string]string{"WEBHOOK_URL": "https://shop.example/hooks", "WEBHOOK_HASH_KEY": "short"}), "WEBHOOK_HASH_KEY"},
		{"webhook over http outside DEV_MODE", production(map[string]string{"WEBHOOK_URL": "http://shop.example/hooks", "WEBHOOK_HASH_KEY": strings.Repeat("w", 32)}), "WEBHOOK_URL"},
		{"webhook complete", production(map[string]string{"WEBHOOK_URL": "https://shop.example/hooks", "WEBHOOK_HASH_KEY": strings.Repeat("w", 32)}), ""},
		{"PUBLIC_URL http outside DEV_MODE", production(map[string]string{"PUBLIC_URL": "http://pay.example.com"}), "PUBLIC_URL"},
		{"PUBLIC_URL relative", production(map[string]string{"PUBLIC_URL": "/pay"}), "PUBLIC_URL"},
		{"PUBLIC_URL http on localhost", production(map[string]string{"PUBLIC_URL": "http://localhost:8080"}), ""},
		{"LOG_LEVEL unknown", production(map[string]string{"LOG_LEVEL": "loud"}), "LOG_LEVEL"},
		{"admin without password", production(map[string]string{"ADMIN_USERNAME": "ops"}), "ADMIN_PASSWORD"},
		{"admin password short", production(map[string]string{"ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "short"}), "ADMIN_PASSWORD"},
		{"REDIS_URL not redis", production(map[string]string{"REDIS_URL": "ftp://cache:6379"}), "REDIS_URL"},
		{"REDIS_URL fine", production(map[string]string{"REDIS_URL": "redis://:pw@cache:6379/2"}), ""},
		{"REDIS_SHARDS zero", production(map[string]string{"REDIS_SHARDS": "0"}), "REDIS_SHARDS"},
		{"SANDBOX_REDIS_URL not redis", production(map[string]string{"SANDBOX_REDIS_URL": "http://sandbox:6379"}), "SANDBOX_REDIS_URL"},
		{"SANDBOX_REDIS_URL fine", production(map[string]string{"SANDBOX_REDIS_URL": "redis://sandbox:6379/1"}), ""},
		{"PROCESSOR_TIMEOUT outlasting the lease", production(map[string]string{"PROCESSOR_TIMEOUT": "9s"}), "REQUEST_LEASE"},
		{"REQUEST_LEASE too short", production(map[string]string{"REQUEST_LEASE": "20s"}), "PROCESSOR_TIMEOUT"},
		{"HASH_SCHEME unknown", production(map[string]string{"HASH_SCHEME": "md5"}), "HASH_SCHEME"},
		{"HASH_SCHEME keylast", production(map[string]string{"HASH_SCHEME": "sha512-keylast"}), ""},
		{"INSTALLMENT_RATES bad count", production(map[string]string{"INSTALLMENT_RATES": "4:100"}), "INSTALLMENT_RATES"},
		{"INSTALLMENT_RATES fine", production(map[string]string{"INSTALLMENT_RATES": "3:150,6:300"}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(tt.env))
			if err == nil {
				err = c.Validate()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted, want an error about %s", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not name %s", err, tt.want)
			}
			// run refuses to start with the same words.
			if tt.want != "" {
				if err := Run(t.Context(), nil, envOf(tt.env), io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("run = %v, want a configuration error about %s", err, tt.want)
				}
			}
		})
	}
}

// TestLogFieldsMaskSecrets logs the configuration as run does and finds
// no secret in the line, while the settings an operator needs are there.
func TestLogFieldsMaskSecrets(t *testing.T) {
	secrets := map[string]string{ // variable: its value; the secret in a URL is its password
		"GATEWAY_PASSWORD":  "gateway-password-s3cr3t",
		"HASH_KEY":          "hash-key-s3cr3t-0123456789abcdef0123",
		"WEBHOOK_HASH_KEY":  "webhook-key-s3cr3t-0123456789abcdef01",
		"ADMIN_PASSWORD":    "admin-password-s3cr3t",
		"REDIS_URL":         "redis://default:redis-s3cr3t@cache.internal:6379/0",
		"SANDBOX_REDIS_URL": "rediss://:sandbox-s3cr3t@sandbox.internal:6380/1",
	}
	var table Config
	for _, v := range table.variables() {
		if _, listed := secrets[v.name]; v.secret != listed {
			t.Errorf("%s: secret in the table is %v, in this test %v", v.name, v.secret, listed)
		}
	}
	env := production(map[string]string{"WEBHOOK_URL": "https://shop.example/hooks", "ADMIN_USERNAME": "ops"})
	for k, v := range secrets {
		env[k] = v
	}
	c, err := LoadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	fields := logged(t, c)
	line, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range secrets {
		if u, err := url.Parse(v); err == nil && u.User != nil {
			v, _ = u.User.Password()
		}
		if strings.Contains(string(line), v) {
			t.Errorf("the logged configuration shows %s: %s", name, line)
		}
	}
	for key, want := range map[string]string{
		"gateway_username":  `"shop-user"`,
		"gateway_password":  `"***"`,
		"hash_key":          `"***"`,
		"webhook_hash_key":  `"***"`,
		"admin_password":    `"***"`,
		"admin_username":    `"ops"`,
		"webhook_url":       `"https://shop.example/hooks"`,
		"public_url":        `"https://pay.example.com"`,
		"redis_url":         `"redis://default:***@cache.internal:6379/0"`,
		"sandbox_redis_url": `"rediss://:***@sandbox.internal:6380/1"`,
	} {
		if fields[key] != want {
			t.Errorf("logged %s = %s, want %s", key, fields[key], want)
		}
	}
	// An unset secret is logged empty, not as a mask that suggests one is set.
	c.HTTP.AdminPassword = ""
	if v := logged(t, c)["admin_password"]; v != `""` {
		t.Errorf("an empty admin password is logged as %s", v)
	}
}

func withDev(env map[string]string) map[string]string {
	env["DEV_MODE"] = "1"
	return env
}

// validate is what run does before it starts: LoadConfig, then Validate.
func validate(env map[string]string) error {
	c, err := LoadConfig(envOf(env))
	if err != nil {
		return err
	}
	return c.Validate()
}

// fileMerchant is a MERCHANTS_FILE entry with the settings production()
// gives the single merchant, and extra over them.
func fileMerchant(extra map[string]any) map[string]any {
	m := map[string]any{
		"id":       "shop-a",
		"username": "shop-user",
		"password": "a-long-and-secret-password",
		"hashKey":  strings.Repeat("k", 32),
	}
	maps.Copy(m, extra)
	return m
}

// withMerchantsFile is a production environment whose merchants are
// those of a MERCHANTS_FILE written for the test.
func withMerchantsFile(t *testing.T, merchants ...map[string]any) map[string]string {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"merchants": merchants})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "merchants.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"PUBLIC_URL": "https://pay.example.com", "MERCHANTS_FILE": path,
		"PROCESSOR": "sandbox", "ALLOW_SANDBOX": "1", "ALLOW_EMBEDDED_STORE": "1"}
}

// TestOneMerchantValidator makes each mistake twice, in the
// single-merchant variables and in a MERCHANTS_FILE entry: the same rule
// refuses both in the same words, naming the variable or the entry's key.
func TestOneMerchantValidator(t *testing.T) {
	w32 := strings.Repeat("w", 32)
	tests := []struct {
		name   string
		envVar string
		env    map[string]string
		key    string
		file   map[string]any
	}{
		{"no username", "GATEWAY_USERNAME", map[string]string{"GATEWAY_USERNAME": ""},
			"username", map[string]any{"username": ""}},
		{"no password", "GATEWAY_PASSWORD", map[string]string{"GATEWAY_PASSWORD": ""},
			"password", map[string]any{"password": ""}},
		{"password of 15", "GATEWAY_PASSWORD", map[string]string{"GATEWAY_PASSWORD": strings.Repeat("p", 15)},
			"password", map[string]any{"password": strings.Repeat("p", 15)}},
		{"short hash key", "HASH_KEY", map[string]string{"HASH_KEY": "short"},
			"hashKey", map[string]any{"hashKey": "short"}},
		{"dev password outside DEV_MODE", "GATEWAY_PASSWORD", map[string]string{"GATEWAY_PASSWORD": devPassword},
			"password", map[string]any{"password": devPassword}},
		{"dev hash key outside DEV_MODE", "HASH_KEY", map[string]string{"HASH_KEY": devHashKey},
			"hashKey", map[string]any{"hashKey": devHashKey}},
		{"unknown hash scheme", "HASH_SCHEME", map[string]string{"HASH_SCHEME": "md5"},
			"hashScheme", map[string]any{"hashScheme": "md5"}},
		{"webhook over http", "WEBHOOK_URL", map[string]string{"WEBHOOK_URL": "http://shop.example/hooks", "WEBHOOK_HASH_KEY": w32},
			"webhookUrl", map[string]any{"webhookUrl": "http://shop.example/hooks", "webhookHashKey": w32}},
		{"webhook key short", "WEBHOOK_HASH_KEY", map[string]string{"WEBHOOK_URL": "https://shop.example/hooks", "WEBHOOK_HASH_KEY": "short"},
			"webhookHashKey", map[string]any{"webhookUrl": "https://shop.example/hooks", "webhookHashKey": "short"}},
		{"installment count 4", "INSTALLMENT_RATES", map[string]string{"INSTALLMENT_RATES": "4:100"},
			"installmentRates", map[string]any{"installmentRates": map[string]int{"4": 100}}},
		{"rate over 100 %", "INSTALLMENT_RATES", map[string]string{"INSTALLMENT_RATES": "3:10001"},
			"installmentRates", map[string]any{"installmentRates": map[string]int{"3": 10001}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envErr := validate(production(tt.env))
			if envErr == nil {
				t.Fatalf("the single merchant is accepted")
			}
			var rule string
			for _, line := range strings.Split(envErr.Error(), "\n") {
				if msg, ok := strings.CutPrefix(line, tt.envVar+": "); ok {
					rule = msg
				}
			}
			if rule == "" {
				t.Fatalf("error %q has no line naming %s", envErr, tt.envVar)
			}
			fileErr := validate(withMerchantsFile(t, fileMerchant(tt.file)))
			want := `MERCHANTS_FILE: merchant 0 ("shop-a"): ` + tt.key + ": " + rule
			if fileErr == nil || !strings.Contains(fileErr.Error(), want) {
				t.Fatalf("the file merchant: error %v, want %q", fileErr, want)
			}
		})
	}
}

func TestMerchantsFile(t *testing.T) {
	env := withMerchantsFile(t,
		fileMerchant(map[string]any{"installmentRates": map[string]int{"3": 150}}),
		fileMerchant(map[string]any{"id": "shop-b", "username": "shop-b", "hashScheme": "sha512-keylast"}))
	c, err := LoadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ms, err := c.Merchants()
	if err != nil {
		t.Fatal(err)
	}
	a, b := ms.ByID("shop-a"), ms.ByID("shop-b")
	if len(ms.All()) != 2 || a == nil || b == nil {
		t.Fatalf("merchants %v", ms.All())
	}
	if len(a.InstallmentRates) != 2 || a.InstallmentRates[3] != 150 || len(b.InstallmentRates) != 6 || b.HashScheme != "sha512-keylast" {
		t.Errorf("shop-a rates %v, shop-b rates %v scheme %q", a.InstallmentRates, b.InstallmentRates, b.HashScheme)
	}

	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"missing file":    {map[string]string{"PUBLIC_URL": "https://pay.example.com", "MERCHANTS_FILE": filepath.Join(t.TempDir(), "none.json")}, "MERCHANTS_FILE: "},
		"no merchants":    {withMerchantsFile(t), "MERCHANTS_FILE: no merchants"},
		"unknown field":   {withMerchantsFile(t, fileMerchant(map[string]any{"hashkey": "x"})), "MERCHANTS_FILE: "},
		"username twice":  {withMerchantsFile(t, fileMerchant(nil), fileMerchant(map[string]any{"id": "shop-b"})), "MERCHANTS_FILE: "},
		"second is wrong": {withMerchantsFile(t, fileMerchant(nil), fileMerchant(map[string]any{"id": "shop-b", "username": "b", "hashKey": ""})), `merchant 1 ("shop-b"): hashKey`},
		"bad id":          {withMerchantsFile(t, fileMerchant(map[string]any{"id": "shop a"})), `merchant 0 ("shop a"): id`},
	} {
		t.Run(name, func(t *testing.T) {
			if err := validate(tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRequestLease: the lease must be longer than three processor calls
// and the final write's retries (FINISH_RETRY).
func TestRequestLease(t *testing.T) {
	tests := []struct {
		timeout, lease, finish string
		ok                     bool
	}{
		{"", "", "", true}, // 3 × 8s + 5s = 29s < 30s
		{"9s", "", "", false},
		{"", "29s", "", false},
		{"10s", "35s", "", false},
		{"10s", "35001ms", "", true},
		{"1s", "8001ms", "", true},
		{"1m", "3m", "", false},
		{"1m", "3m6s", "", true},
		{"1s", "4s", "500ms", true},
		{"1s", "4s", "1s", false},
	}
	for _, tt := range tests {
		t.Run("PROCESSOR_TIMEOUT="+tt.timeout+",REQUEST_LEASE="+tt.lease+",FINISH_RETRY="+tt.finish, func(t *testing.T) {
			err := validate(production(map[string]string{"PROCESSOR_TIMEOUT": tt.timeout, "REQUEST_LEASE": tt.lease, "FINISH_RETRY": tt.finish}))
			switch {
			case tt.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.ok && err == nil:
				t.Fatal("accepted")
			case !tt.ok && !strings.HasPrefix(err.Error(), "REQUEST_LEASE: ") ||
				!tt.ok && !strings.Contains(err.Error(), "outlast a request's processor calls and its final write"):
				t.Fatalf("error %q does not explain the lease", err)
			}
		})
	}
}

// TestConfigurationDoc: docs/configuration.md's table has a row for every
// variable of the configuration table, showing its default, and no row
// for a variable the gateway does not read. After adding a variable to
// a settings section, add its row there and run
// go test -run TestConfigurationDoc ./cmd/gateway.
func TestConfigurationDoc(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	section, _, ok := strings.Cut(string(raw), "\n## ")
	if !ok || !strings.Contains(section, "| variable | meaning | default |") {
		t.Fatal("docs/configuration.md does not open with the table of variables")
	}
	variableName := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	defaults := map[string]string{} // variable: the last cell of its row
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| `") || len(cells) < 3 {
			continue
		}
		for _, m := range variableName.FindAllStringSubmatch(cells[0], -1) {
			defaults[m[1]] = cells[len(cells)-1]
		}
	}
	var table Config
	read := map[string]bool{}
	for _, v := range table.variables() {
		read[v.name] = true
		cell, listed := defaults[v.name]
		switch {
		case !listed:
			t.Errorf("docs/configuration.md has no row for %s", v.name)
		case v.def != "" && !strings.Contains(cell, "`"+v.def+"`"):
			t.Errorf("docs/configuration.md gives %s the default %q, the table `%s`", v.name, cell, v.def)
		}
	}
	for name := range defaults {
		if !read[name] {
			t.Errorf("docs/configuration.md lists %s, which the gateway does not read", name)
		}
	}
}

// TestInternalWebhookTargetsAreRefused: outside DEV_MODE a webhook URL on
// a loopback, private, link-local or reserved address is refused at start
// (-check-config) unless WEBHOOK_ALLOW_PRIVATE=1.
func TestInternalWebhookTargetsAreRefused(t *testing.T) {
	for _, target := range []string{"https://169.254.169.254/latest/meta-data", "https://127.0.0.1/hook", "https://10.1.2.3/hook",
		"https://[::1]/hook", "https://100.100.100.200/x", "https://192.168.0.1/hook", "https://localhost/hook"} {
		env := production(map[string]string{"WEBHOOK_URL": target, "WEBHOOK_HASH_KEY": strings.Repeat("w", 32)})
		err := Run(context.Background(), []string{"-check-config"}, envOf(env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "WEBHOOK_URL") || !strings.Contains(err.Error(), "WEBHOOK_ALLOW_PRIVATE") {
			t.Errorf("WEBHOOK_URL=%s: %v; want a refusal naming WEBHOOK_ALLOW_PRIVATE", target, err)
		}
		env["WEBHOOK_ALLOW_PRIVATE"] = "1"
		if err := Run(context.Background(), []string{"-check-config"}, envOf(env), io.Discard); err != nil {
			t.Errorf("WEBHOOK_URL=%s with WEBHOOK_ALLOW_PRIVATE=1: %v", target, err)
		}
	}
	env := production(map[string]string{"WEBHOOK_URL": "https://93.184.215.14/hook", "WEBHOOK_HASH_KEY": strings.Repeat("w", 32)})
	if err := Run(context.Background(), []string{"-check-config"}, envOf(env), io.Discard); err != nil {
		t.Errorf("a public webhook address: %v", err)
	}
}
