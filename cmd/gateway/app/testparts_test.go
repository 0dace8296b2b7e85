package app

import (
	"context"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestProductionRefusesTestParts: outside DEV_MODE the embedded store and
// the sandbox bank start only when asked for, and an unknown processor is
// refused naming the known ones; each refusal names its setting.
func TestProductionRefusesTestParts(t *testing.T) {
	const redisURL = "redis://127.0.0.1:6379/0"
	without := func(keys ...string) map[string]string {
		env := production(nil)
		for _, k := range keys {
			delete(env, k)
		}
		return env
	}
	with := func(env map[string]string, extra map[string]string) map[string]string {
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	tests := []struct {
		name string
		env  map[string]string
		want string // a line of the error; "" = accepted
	}{
		{"no REDIS_URL", without("ALLOW_EMBEDDED_STORE"), "REDIS_URL: is not set, and outside DEV_MODE the embedded in-memory store is refused"},
		{"no REDIS_URL, ALLOW_EMBEDDED_STORE=1", without(), ""},
		{"REDIS_URL", with(without("ALLOW_EMBEDDED_STORE"), map[string]string{"REDIS_URL": redisURL}), ""},
		{"no REDIS_URL in DEV_MODE", map[string]string{"DEV_MODE": "1"}, ""},
		{"sandbox", without("ALLOW_SANDBOX"), `PROCESSOR: "sandbox" is the test bank (it approves test cards and moves no money), refused outside DEV_MODE`},
		{"sandbox, ALLOW_SANDBOX=0", with(without(), map[string]string{"ALLOW_SANDBOX": "0"}), `PROCESSOR: "sandbox" is the test bank`},
		{"no PROCESSOR", without("PROCESSOR"), "PROCESSOR: is required outside DEV_MODE: PROCESSOR or the merchant's processor section names its bank (known: sandbox, nestpay)"},
		{"unknown PROCESSOR", with(without(), map[string]string{"PROCESSOR": "akbank"}), `PROCESSOR: "akbank" is not a processor this gateway has (known: sandbox, nestpay)`},
		{"unknown PROCESSOR in DEV_MODE", map[string]string{"DEV_MODE": "1", "PROCESSOR": "bank"}, `PROCESSOR: "bank" is not a processor this gateway has (known: sandbox, nestpay)`},
		{"file: sandbox by section", with(withMerchantsFile(t, fileMerchant(map[string]any{"processor": map[string]string{"name": "sandbox"}})),
			map[string]string{"ALLOW_SANDBOX": "", "PROCESSOR": ""}), `MERCHANTS_FILE: merchant "shop-a": processor: "sandbox" is the test bank`},
		{"file: sandbox by PROCESSOR", with(withMerchantsFile(t, fileMerchant(nil)), map[string]string{"ALLOW_SANDBOX": ""}),
			`MERCHANTS_FILE: merchant "shop-a": processor: "sandbox" is the test bank`},
		{"file: unknown section", withMerchantsFile(t, fileMerchant(map[string]any{"processor": map[string]string{"name": "akbank"}})),
			`MERCHANTS_FILE: merchant 0 ("shop-a"): processor: "akbank" is not a processor this gateway has (known: sandbox, nestpay)`},
		{"file: sandbox allowed", withMerchantsFile(t, fileMerchant(map[string]any{"processor": map[string]string{"name": "sandbox"}})), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(tt.env)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted; want %q", tt.want)
			case tt.want != "" && !hasLine(err.Error(), tt.want):
				t.Fatalf("error %q has no line starting %q", err, tt.want)
			}
		})
	}
}

func hasLine(text, prefix string) bool {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

// TestURLsAreLoggedMasked: user info and query values of every URL in the
// configuration line are masked; the rest is shown as set.
func TestURLsAreLoggedMasked(t *testing.T) {
	tests := []struct{ variable, set, want string }{
		{"WEBHOOK_URL", "https://user:pw@hooks.example.com/h?token=s3cret&b=2", `"https://user:***@hooks.example.com/h?b=***\u0026token=***"`},
		{"WEBHOOK_URL", "https://hooks.example.com/h", `"https://hooks.example.com/h"`},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://tok3n@otel.example.com:4318", `"https://***@otel.example.com:4318"`},
		{"REDIS_URL", "redis://:pw@redis:6379/0", `"redis://:***@redis:6379/0"`},
		{"REDIS_URL", "redis://app:pw@redis:6379/0?dial_timeout=3s", `"redis://app:***@redis:6379/0?dial_timeout=***"`},
		{"SANDBOX_REDIS_URL", "redis://redis:6379/1", `"redis://redis:6379/1"`},
	}
	for _, tt := range tests {
		t.Run(tt.variable+"="+tt.set, func(t *testing.T) {
			c, err := LoadConfig(envOf(production(map[string]string{tt.variable: tt.set, "WEBHOOK_HASH_KEY": strings.Repeat("w", 32)})))
			if err != nil {
				t.Fatal(err)
			}
			got := logged(t, c)[strings.ToLower(tt.variable)]
			if got != tt.want {
				t.Fatalf("logged %s, want %s", got, tt.want)
			}
			if strings.Contains(got, "pw") || strings.Contains(got, "s3cret") || strings.Contains(got, "tok3n") {
				t.Fatalf("logged %s: a secret shows", got)
			}
		})
	}
}

// TestPublicURLFollowsADDRInDevMode: moving the gateway in DEV_MODE moves
// redirectUrl with it, unless PUBLIC_URL is set; production keeps its
// PUBLIC_URL default.
func TestPublicURLFollowsADDRInDevMode(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DEV_MODE": "1"}, "http://localhost:8080"},
		{map[string]string{"DEV_MODE": "1", "ADDR": ":9090"}, "http://localhost:9090"},
		{map[string]string{"DEV_MODE": "1", "ADDR": "0.0.0.0:9090"}, "http://localhost:9090"},
		{map[string]string{"DEV_MODE": "1", "ADDR": "127.0.0.1:9090"}, "http://127.0.0.1:9090"},
		{map[string]string{"DEV_MODE": "1", "ADDR": "[::1]:9090"}, "http://[::1]:9090"},
		{map[string]string{"DEV_MODE": "1", "ADDR": ":9090", "PUBLIC_URL": "https://pay.example.com"}, "https://pay.example.com"},
		{production(map[string]string{"ADDR": ":9090", "PUBLIC_URL": ""}), "http://localhost:8080"},
	}
	for _, tt := range tests {
		c, err := LoadConfig(envOf(tt.env))
		if err != nil {
			t.Fatal(err)
		}
		if c.PublicURL != tt.want {
			t.Errorf("ADDR=%q PUBLIC_URL=%q DEV_MODE=%q: PUBLIC_URL %q, want %q",
				tt.env["ADDR"], tt.env["PUBLIC_URL"], tt.env["DEV_MODE"], c.PublicURL, tt.want)
		}
	}
}

// TestCheckConfigSummary: a -check-config that passes prints what it
// proved: the store and its policy, each merchant's processor and webhook
// target (masked), the listeners and what is not for production.
func TestCheckConfigSummary(t *testing.T) {
	srv := redistest.Start(t)
	var out strings.Builder
	env := production(map[string]string{"REDIS_URL": srv.URL(), "ALLOW_EMBEDDED_STORE": "",
		"WEBHOOK_URL": "https://user:pw@hooks.example.com/h?token=s3cret", "WEBHOOK_HASH_KEY": strings.Repeat("w", 32),
		"ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "ops-password-long", "ADMIN_ADDR": "127.0.0.1:9091"})
	if err := Run(context.Background(), []string{"-check-config"}, envOf(env), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"configuration: valid\n",
		"store               Redis one node at " + srv.URL() + "; " + srv.Addr + ": maxmemory-policy noeviction",
		"merchant default    processor sandbox (latency=0s pendingDelay=10s retention=9600h0m0s); webhooks to https://user:***@hooks.example.com/h?token=***\n",
		"listener            :8080 (ADDR), redirectUrl on https://pay.example.com (PUBLIC_URL)\n",
		"operator            127.0.0.1:9091 (ADMIN_ADDR)",
		"NOT FOR PRODUCTION  SANDBOX BANK takes the payments of merchant default",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-check-config printed\n%s\nwithout %q", out.String(), want)
		}
	}
	if strings.Contains(out.String(), "s3cret") || strings.Contains(out.String(), ":pw@") {
		t.Errorf("-check-config printed a secret:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "\n"); n > 24 {
		t.Errorf("-check-config printed %d lines: more than a screen", n)
	}
}
