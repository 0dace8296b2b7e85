package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
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

// withOtherBank registers otherbank beside the gateway's processors for
// the test.
func withOtherBank(t *testing.T) {
	t.Helper()
	was := registry
	registry = append(processors.Registry{}, was...)
	registry = append(registry, processors.Register("otherbank", func() *otherBank { return &otherBank{} },
		func(_ *otherBank, d processors.Deps) (provider.Processor, error) {
			return sandbox.New(d.Books, sandbox.Options{Prefix: otherBankPrefix, PendingDelay: time.Second}), nil
		}))
	t.Cleanup(func() { registry = was })
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
	withOtherBank(t)
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
			c, err := LoadConfig(envOf(production(env)))
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

// startOn starts a session of the merchant user/password, naming
// targetProvider, and returns the status and the answer.
func startOn(t *testing.T, base, user, password, order, target string) (int, map[string]any) {
	t.Helper()
	body := map[string]any{
		"version": "1", "guid": "start-" + order, "orderId": order, "orderAmount": 120.5, "locale": "en",
		"returnUrl": "http://127.0.0.1:9/return", "type": "SALE", "currency": "TRY",
		"customer": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
	}
	if target != "" {
		body["targetProvider"] = target
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/start-session", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// TestTargetProvider runs a gateway whose first merchant has two
// processors and whose second has the sandbox only: targetProvider
// chooses the bank a payment reaches, a session naming none goes to the
// merchant's first, and a name the merchant does not have is a 400.
func TestTargetProvider(t *testing.T) {
	withOtherBank(t)
	store := redistest.Start(t)
	file := merchantsFile(t, `[{"name": "sandbox"}, {"name": "otherbank", "clientId": "700100", "storeKey": "k"}]`, `{"name": "sandbox"}`)
	base := runHere(t, map[string]string{"DEV_MODE": "1", "LOG_LEVEL": "warn", "GATEWAY_USERNAME": testUser, "GATEWAY_PASSWORD": testPassword,
		"HASH_KEY": testHashKey, "REDIS_URL": store.URL(), "MERCHANTS_FILE": file})
	rdb := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(store.URL(), "redis://")})
	t.Cleanup(func() { _ = rdb.Close() })
	effects := func(prefix string) int { return sandbox.New(rdb, sandbox.Options{Prefix: prefix}).Effects("Authorise") }

	for _, tc := range []struct {
		name, user, password, target string
		status                       int
		bank                         string // whose books the approved payment reaches
	}{
		{"named: the other bank", testUser, testPassword, "otherbank", http.StatusOK, otherBankPrefix},
		{"named: the sandbox", testUser, testPassword, "sandbox", http.StatusOK, "sbx"},
		{"none: the merchant's first", testUser, testPassword, "", http.StatusOK, "sbx"},
		{"not registered", testUser, testPassword, "akbank", http.StatusBadRequest, ""},
		{"registered, not the merchant's", testUser + "-1", testPassword + "-1", "otherbank", http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]int{"sbx": effects("sbx"), otherBankPrefix: effects(otherBankPrefix)}
			code, out := startOn(t, base, tc.user, tc.password, strings.ReplaceAll(tc.name, " ", "-"), tc.target)
			if code != tc.status {
				t.Fatalf("start-session: %d %v, want %d", code, out, tc.status)
			}
			if tc.status != http.StatusOK {
				if !strings.Contains(strings.ToLower(toJSON(out)), "targetprovider") {
					t.Errorf("the refusal does not name targetProvider: %v", out)
				}
				return
			}
			redirect, _ := out["redirectUrl"].(string)
			payHere(redirect)
			for prefix, was := range before {
				want := was
				if prefix == tc.bank {
					want++
				}
				if got := effects(prefix); got != want {
					t.Errorf("bank %s: %d authorisations, want %d", prefix, got, want)
				}
			}
		})
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestSandboxAmongSeveral: outside DEV_MODE the sandbox needs
// ALLOW_SANDBOX=1 even as a merchant's second processor, which
// targetProvider could reach.
func TestSandboxAmongSeveral(t *testing.T) {
	withOtherBank(t)
	file := merchantsFile(t, `[{"name": "otherbank", "clientId": "700100", "storeKey": "k"}, {"name": "sandbox"}]`)
	for _, tc := range []struct{ allow, refused string }{
		{"0", `MERCHANTS_FILE: merchant "shop-0": processor: "sandbox" is the test bank`},
		{"1", ""},
	} {
		c, err := LoadConfig(envOf(production(map[string]string{"MERCHANTS_FILE": file, "ALLOW_SANDBOX": tc.allow})))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
		if tc.refused == "" && err != nil || tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)) {
			t.Errorf("ALLOW_SANDBOX=%s: %v, want %q", tc.allow, err, tc.refused)
		}
	}
}

// The merchants of runHere's gateway sign in as these.
const (
	testUser     = "akinon-test"
	testPassword = "akinon-test-password"
	testHashKey  = "hash-key-test-0123456789abcdef0123456789"
)

// runHere runs the program in this package, for the one test that needs
// a processor registered only here (otherbank); every other test gets
// its gateway from gatewaytest, which this package cannot import.
func runHere(t *testing.T, env map[string]string) string {
	t.Helper()
	addr := redistest.FreeAddr(t)
	env["ADDR"], env["PUBLIC_URL"] = addr, "http://"+addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, nil, func(k string) string { return env[k] }, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	redistest.Eventually(t, 10*time.Second, "the gateway to serve", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return "http://" + addr
}

// payHere posts the hosted page's card form with the approved card.
func payHere(redirect string) string {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(redirect)
	if err != nil {
		return err.Error()
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([^"]*)"`).FindSubmatch(page)
	if m == nil {
		return string(page)
	}
	resp, err = c.PostForm(redirect, url.Values{"_csrf": {string(m[1])}, "cardHolder": {"Ada Lovelace"},
		"cardNumber": {sandbox.CardApproved}, "expiry": {"12/39"}, "cvc": {"123"}, "installment": {"1"}})
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return string(out)
}
