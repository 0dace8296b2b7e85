package app

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// otherBank is a second processor with what a bank's section has: a
// required id and a secret. It is the sandbox keeping books of its own
// under otherBankPrefix, so a test can see which bank a payment reached.
type otherBank struct {
	ClientID string `json:"clientId"`
	StoreKey string `json:"storeKey" secret:"true"`
}

const otherBankPrefix = "obk"

func (s *otherBank) Validate() error {
	var errs []error
	if s.ClientID == "" {
		errs = append(errs, errors.New("clientId: is required"))
	}
	if s.StoreKey == "" {
		errs = append(errs, errors.New("storeKey: is required"))
	}
	return errors.Join(errs...)
}

// otherBankKind is otherbank as a processor the gateway can build.
func otherBankKind() processors.Kind {
	return processors.Register("otherbank", func() *otherBank { return &otherBank{} },
		func(_ *otherBank, d processors.Deps) (provider.Processor, error) {
			return sandbox.New(d.Books, sandbox.Options{Prefix: otherBankPrefix, PendingDelay: time.Second}), nil
		})
}

// withOtherBank is the gateway's processors and otherbank, as
// WithProcessorKinds(otherBankKind()) makes them.
func withOtherBank() processors.Registry {
	var o options
	WithProcessorKinds(otherBankKind())(&o)
	return o.kinds()
}

// merchantsFile writes a MERCHANTS_FILE of one merchant per processor
// section given, with the test credentials (the first's) and ids shop-0…
func merchantsFile(t *testing.T, sections ...string) string {
	t.Helper()
	var entries []string
	for i, sec := range sections {
		user, password := testUser, testPassword
		if i > 0 {
			user, password = testUser+"-"+strconv.Itoa(i), testPassword+"-"+strconv.Itoa(i)
		}
		entry := `{"id": "shop-` + strconv.Itoa(i) + `", "username": "` + user + `", "password": "` + password +
			`", "hashKey": "` + testHashKey + `"`
		if sec != "" {
			entry += `, "processor": ` + sec
		}
		entries = append(entries, entry+"}")
	}
	path := filepath.Join(t.TempDir(), "merchants.json")
	if err := os.WriteFile(path, []byte(`{"merchants": [`+strings.Join(entries, ",")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMerchantSections: each merchant's processor sections, as
// MERCHANTS_FILE gives them, read and refused with the setting named.
func TestMerchantSections(t *testing.T) {
	kinds := withOtherBank()
	const secret = "store-key-s3cr3t"
	for _, tc := range []struct {
		name     string
		sections []string
		env      map[string]string
		want     map[string][]string // merchant: its processors, shown, the default first
		refused  string
	}{
		{name: "none: PROCESSOR and the variables", sections: []string{""}, env: map[string]string{"SANDBOX_LATENCY": "5ms"},
			want: map[string][]string{"shop-0": {"sandbox (latency=5ms pendingDelay=10s retention=9600h0m0s)"}}},
		{name: "the sandbox's own settings", sections: []string{`{"name": "sandbox", "latency": "20ms"}`, `{"name": "sandbox"}`},
			want: map[string][]string{
				"shop-0": {"sandbox (latency=20ms pendingDelay=10s retention=9600h0m0s)"},
				"shop-1": {"sandbox (latency=0s pendingDelay=10s retention=9600h0m0s)"},
			}},
		{name: "several, secret masked", sections: []string{`[{"name": "otherbank", "clientId": "700100", "storeKey": "` + secret + `"}, {"name": "sandbox"}]`},
			want: map[string][]string{"shop-0": {"otherbank (clientId=700100 storeKey=***)", "sandbox (latency=0s pendingDelay=10s retention=9600h0m0s)"}}},
		{name: "unknown processor", sections: []string{`{"name": "akbank"}`},
			refused: `MERCHANTS_FILE: merchant 0 ("shop-0"): processor: "akbank" is not a processor this gateway has (known: sandbox, nestpay, otherbank)`},
		{name: "missing field", sections: []string{`{"name": "otherbank", "storeKey": "` + secret + `"}`},
			refused: `MERCHANTS_FILE: merchant 0 ("shop-0"): processor: otherbank: clientId: is required`},
		{name: "unknown setting", sections: []string{`[{"name": "sandbox"}, {"name": "otherbank", "clientId": "1", "storeKey": "k", "apiUrl": "x"}]`},
			refused: `MERCHANTS_FILE: merchant 0 ("shop-0"): processor[1]: otherbank: apiUrl: is not a setting of otherbank (its settings: clientId, storeKey)`},
		{name: "listed twice", sections: []string{`[{"name": "sandbox"}, {"name": "sandbox", "latency": "1s"}]`},
			refused: `MERCHANTS_FILE: merchant 0 ("shop-0"): processor[1]: "sandbox" is listed twice`},
		{name: "bad setting value", sections: []string{`{"name": "sandbox", "retention": "forever"}`},
			refused: `MERCHANTS_FILE: merchant 0 ("shop-0"): processor: sandbox: retention: "forever" is not a duration`},
		{name: "not an object", sections: []string{`"sandbox"`}, refused: "MERCHANTS_FILE: a processor section is an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"MERCHANTS_FILE": merchantsFile(t, tc.sections...)}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := loadConfig(envOf(production(env)), kinds)
			if err != nil {
				t.Fatal(err)
			}
			merchants, sections, err := c.merchants()
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("error %v, want one with %q", err, tc.refused)
				}
				if err := c.Validate(); err == nil || strings.Contains(err.Error(), secret) {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			for id, want := range tc.want {
				m := merchants.ByID(id)
				if m == nil || len(sections[id]) != len(want) || m.Processor != sections[id][0].Name {
					t.Fatalf("merchant %s: %+v with %v, want %v", id, m, sections[id], want)
				}
				for i, sec := range sections[id] {
					if sec.String() != want[i] || m.Processors[i] != sec.Name {
						t.Errorf("merchant %s processor %d: %s (%s), want %s", id, i, sec, m.Processors[i], want[i])
					}
				}
			}
			core, logs := observer.New(zap.InfoLevel)
			zap.New(core).Info("configuration", configurationLine(c, merchants, sections)...)
			line, err := json.Marshal(logs.All()[0].ContextMap())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(line), secret) || !strings.Contains(string(line), `"processors":{"shop-0":[{`) {
				t.Errorf("the configuration line: %s", line)
			}
		})
	}
}

// TestSandboxAmongSeveral: outside DEV_MODE the sandbox needs
// ALLOW_SANDBOX=1 even as a merchant's second processor, which
// targetProvider could reach.
func TestSandboxAmongSeveral(t *testing.T) {
	file := merchantsFile(t, `[{"name": "otherbank", "clientId": "700100", "storeKey": "k"}, {"name": "sandbox"}]`)
	for _, tc := range []struct{ allow, refused string }{
		{"0", `MERCHANTS_FILE: merchant "shop-0": processor: "sandbox" is the test bank`},
		{"1", ""},
	} {
		c, err := loadConfig(envOf(production(map[string]string{"MERCHANTS_FILE": file, "ALLOW_SANDBOX": tc.allow})), withOtherBank())
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
		if tc.refused == "" && err != nil || tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)) {
			t.Errorf("ALLOW_SANDBOX=%s: %v, want %q", tc.allow, err, tc.refused)
		}
	}
}

// The merchants of merchantsFile sign in as these (gatewaytest's, which
// this package cannot import).
const (
	testUser     = "akinon-test"
	testPassword = "akinon-test-password"
	testHashKey  = "hash-key-test-0123456789abcdef0123456789"
)
