package processors_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// bankSettings is a section with what a bank's adapter has: a required
// id, a secret, an endpoint and a duration with a default.
type bankSettings struct {
	ClientID string        `json:"clientId" env:"TESTBANK_CLIENT_ID"`
	StoreKey string        `json:"storeKey" env:"TESTBANK_STORE_KEY" secret:"true"`
	APIURL   string        `json:"apiUrl"`
	Timeout  time.Duration `json:"timeout" env:"TESTBANK_TIMEOUT"`
}

func bankDefaults() *bankSettings {
	return &bankSettings{APIURL: "https://bank.example/api", Timeout: 5 * time.Second}
}

func (s *bankSettings) Validate() error {
	var errs []error
	if s.ClientID == "" {
		errs = append(errs, errors.New("clientId: is required"))
	}
	if len(s.StoreKey) < 8 {
		errs = append(errs, errors.New("storeKey: must be at least 8 characters"))
	}
	return errors.Join(errs...)
}

// refusingBank is a processor whose check fails, as a bank refusing the
// credentials would.
type refusingBank struct{ provider.Processor }

func (refusingBank) Check(context.Context) error { return errors.New("the bank refuses the store key") }

var registry = processors.Registry{
	processors.Builtin[0],
	processors.Builtin[1],
	processors.Register("testbank", bankDefaults, func(s *bankSettings, _ processors.Deps) (provider.Processor, error) {
		if s.ClientID == "refused" {
			return refusingBank{}, nil
		}
		return sandbox.New(nil, sandbox.Options{}), nil
	}),
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSection(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proc    string
		env     map[string]string
		section string
		shown   map[string]string // "" where the section must be refused
		refused string
	}{
		{name: "sandbox defaults", proc: "sandbox",
			shown: map[string]string{"name": "sandbox", "pendingDelay": "10s", "retention": "9600h0m0s", "latency": "0s"}},
		{name: "sandbox from its variables", proc: "sandbox", env: map[string]string{"SANDBOX_LATENCY": "150ms"},
			shown: map[string]string{"name": "sandbox", "pendingDelay": "10s", "retention": "9600h0m0s", "latency": "150ms"}},
		{name: "the section over the variables", proc: "sandbox", env: map[string]string{"SANDBOX_LATENCY": "150ms"},
			section: `{"name": "sandbox", "latency": "20ms", "pendingDelay": "1s"}`,
			shown:   map[string]string{"name": "sandbox", "pendingDelay": "1s", "retention": "9600h0m0s", "latency": "20ms"}},
		{name: "bank good, secret masked", proc: "testbank",
			section: `{"name": "testbank", "clientId": "700100", "storeKey": "s3cr3t-store-key"}`,
			shown:   map[string]string{"name": "testbank", "clientId": "700100", "storeKey": "***", "apiUrl": "https://bank.example/api", "timeout": "5s"}},
		{name: "bank from its variables", proc: "testbank",
			env:   map[string]string{"TESTBANK_CLIENT_ID": "700100", "TESTBANK_STORE_KEY": "s3cr3t-store-key"},
			shown: map[string]string{"name": "testbank", "clientId": "700100", "storeKey": "***", "apiUrl": "https://bank.example/api", "timeout": "5s"}},
		{name: "nestpay, secrets masked", proc: "nestpay", section: `{"name": "nestpay", "clientId": "100200300", "storeKey": "s3cr3t-store-key",
			"apiUser": "api", "apiPassword": "s3cr3t-api-password", "gateUrl": "https://bank.example/fim/est3Dgate", "apiUrl": "https://bank.example/fim/api"}`,
			shown: map[string]string{"name": "nestpay", "clientId": "100200300", "storeKey": "***", "apiUser": "api", "apiPassword": "***",
				"gateUrl": "https://bank.example/fim/est3Dgate", "apiUrl": "https://bank.example/fim/api", "storeType": "3d", "timeout": "30s"}},
		{name: "nestpay, every missing setting named", proc: "nestpay", section: `{"name": "nestpay", "clientId": "100200300", "gateUrl": "/fim/est3Dgate"}`,
			refused: "storeKey: is required\napiUser: is required\napiPassword: is required\ngateUrl: \"/fim/est3Dgate\" is not an absolute http(s) URL\napiUrl: \"\" is not an absolute http(s) URL"},
		{name: "nestpay, another model", proc: "nestpay", section: `{"name": "nestpay", "clientId": "1", "storeKey": "k", "apiUser": "u", "apiPassword": "p",
			"gateUrl": "https://bank.example/g", "apiUrl": "https://bank.example/a", "storeType": "3d_pay"}`,
			refused: `storeType: "3d_pay" is not supported (only "3d")`},
		{name: "unknown processor", proc: "paybank", refused: `"paybank" is not a processor this gateway has (known: sandbox, nestpay, testbank)`},
		{name: "missing field", proc: "testbank", section: `{"name": "testbank", "storeKey": "s3cr3t-store-key"}`,
			refused: "clientId: is required"},
		{name: "unknown key", proc: "sandbox", section: `{"name": "sandbox", "latencyy": "1s"}`,
			refused: "latencyy: is not a setting of sandbox (its settings: pendingDelay, retention, latency)"},
		{name: "bad duration in the section", proc: "sandbox", section: `{"name": "sandbox", "latency": 5}`,
			refused: "latency: is not a duration written as text"},
		{name: "bad value refused by the processor", proc: "sandbox", section: `{"name": "sandbox", "latency": "-1s"}`,
			refused: "latency: -1s is negative"},
		{name: "bad variable named", proc: "sandbox", env: map[string]string{"SANDBOX_PENDING_DELAY": "soon"},
			refused: `SANDBOX_PENDING_DELAY: "soon" is not a duration`},
		{name: "wrong type", proc: "testbank", section: `{"name": "testbank", "clientId": 700100, "storeKey": "s3cr3t-store-key"}`,
			refused: "clientId: json: cannot unmarshal number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sec, err := registry.Section(tc.proc, envOf(tc.env), json.RawMessage(tc.section))
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("error %v, want one with %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := sec.Shown()
			if len(got) != len(tc.shown) {
				t.Errorf("shown %v, want %v", got, tc.shown)
			}
			for k, v := range tc.shown {
				if got[k] != v {
					t.Errorf("%s shown %q, want %q", k, got[k], v)
				}
			}
			if strings.Contains(sec.String(), "s3cr3t") {
				t.Errorf("the section shows its secret: %s", sec)
			}
			if _, err := sec.Build(processors.Deps{}); err != nil {
				t.Errorf("build: %v", err)
			}
		})
	}
}

// TestSectionCheck: a processor's own check runs, and its refusal is the
// section's.
func TestSectionCheck(t *testing.T) {
	for _, tc := range []struct{ clientID, want string }{
		{"700100", ""},
		{"refused", "the bank refuses the store key"},
	} {
		sec, err := registry.Section("testbank", envOf(nil), json.RawMessage(`{"clientId": "`+tc.clientID+`", "storeKey": "s3cr3t-store-key"}`))
		if err != nil {
			t.Fatal(err)
		}
		err = sec.Check(context.Background(), processors.Deps{})
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("clientId %s: check %q, want %q", tc.clientID, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("clientId %s: check passed, want %q", tc.clientID, tc.want)
		}
	}
}

// TestVariables: each processor's variables, with the defaults its
// package declares, written as an operator writes them; a value the
// processor refuses is refused by its variable; a secret is shown masked.
func TestVariables(t *testing.T) {
	want := map[string]struct {
		def    string
		secret bool
	}{
		"SANDBOX_PENDING_DELAY": {"10s", false},
		"SANDBOX_RETENTION":     {"9600h", false},
		"SANDBOX_LATENCY":       {"0s", false},
		"TESTBANK_CLIENT_ID":    {"", false},
		"TESTBANK_STORE_KEY":    {"", true},
		"TESTBANK_TIMEOUT":      {"5s", false},
	}
	vars := registry.Variables()
	if len(vars) != len(want) {
		t.Errorf("%d variables, want %d", len(vars), len(want))
	}
	for _, v := range vars {
		w, ok := want[v.Name]
		if !ok || v.Default != w.def || v.Secret != w.secret {
			t.Errorf("%s: default %q secret %v, want %+v", v.Name, v.Default, v.Secret, w)
		}
		switch v.Name {
		case "SANDBOX_LATENCY":
			if err := v.Check("-1s"); err == nil {
				t.Error("SANDBOX_LATENCY=-1s accepted")
			}
			if got := v.Show("150ms"); got != "150ms" {
				t.Errorf("SANDBOX_LATENCY=150ms shown %q", got)
			}
		case "TESTBANK_STORE_KEY":
			if got := v.Show("s3cr3t-store-key"); got != "***" {
				t.Errorf("TESTBANK_STORE_KEY shown %q, want ***", got)
			}
		}
	}
}

// TestBuiltinNames: the sandbox and NestPay are registered under the
// names sessions store and targetProvider give.
func TestBuiltinNames(t *testing.T) {
	if got := processors.Builtin.Names(); !slices.Equal(got, []string{sandbox.Name, nestpay.Name}) {
		t.Errorf("Builtin.Names() = %v", got)
	}
}
