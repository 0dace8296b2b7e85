package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

const (
	testUser       = "akinon-test"
	testPassword   = "akinon-test-password"
	testHashKey    = "hash-key-test-0123456789abcdef0123456789"
	testWebhookKey = "webhook-key-test-0123456789abcdef012345"
)

// gatewayEnv is the environment of a gateway under test.
func gatewayEnv(addr, redisURL, webhookURL string, extra map[string]string) map[string]string {
	env := map[string]string{
		"ADDR":             addr,
		"PUBLIC_URL":       "http://" + addr,
		"GATEWAY_USERNAME": testUser,
		"GATEWAY_PASSWORD": testPassword,
		"HASH_KEY":         testHashKey,
		"REDIS_URL":        redisURL,
		"WEBHOOK_URL":      webhookURL,
		"WEBHOOK_HASH_KEY": testWebhookKey,
		"WEBHOOK_POLL":     "20ms",
		"JOBS_INTERVAL":    "50ms",
		"DEV_MODE":         "1",
		"LOG_LEVEL":        "warn",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// mustRun boots the real program in this process. stop cancels it and
// returns what run returned; cleanup stops it if the test did not.
func mustRun(tb testing.TB, env map[string]string) (base string, stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }) }()
	base = "http://" + env["ADDR"]
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("run did not return after its context was cancelled")
		}
	})
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("run: %v", err)
		}
	})
	redistest.Eventually(tb, 10*time.Second, "the gateway to listen", func() bool {
		select {
		case err := <-done:
			tb.Fatalf("run returned early: %v", err)
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base, stop
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// hook is Akinon's webhook endpoint: it checks every delivery as a
// receiver must and counts them by event and by sending replica.
type hook struct {
	*httptest.Server
	mu        sync.Mutex
	byEvent   map[string]int
	byReplica map[string]int
	bodies    map[string]webhook.Body
	bad       []string
	accept    bool
	delay     time.Duration
}

func mustHook(tb testing.TB, accept bool) *hook {
	tb.Helper()
	h := &hook{byEvent: map[string]int{}, byReplica: map[string]int{}, bodies: map[string]webhook.Body{}, accept: accept}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var b webhook.Body
		err := json.Unmarshal(raw, &b)
		sigErr := hashing.VerifyStandard([]byte(testWebhookKey), r.Header.Get(hashing.HeaderWebhookID),
			r.Header.Get(hashing.HeaderWebhookTimestamp), r.Header.Get(hashing.HeaderWebhookSignature), raw, time.Now(), 0)
		h.mu.Lock()
		delay, accept := h.delay, h.accept
		switch {
		case err != nil:
			h.bad = append(h.bad, "body: "+err.Error())
		case !hashing.VerifyWebhook(testWebhookKey, b.Hash, b.Fields()):
			h.bad = append(h.bad, "hash of "+b.EventID)
		case sigErr != nil:
			h.bad = append(h.bad, "signature of "+b.EventID+": "+sigErr.Error())
		}
		if accept {
			h.byEvent[b.EventID]++
			h.bodies[b.EventID] = b
			h.byReplica[replicaOf(r.UserAgent())]++
		}
		h.mu.Unlock()
		time.Sleep(delay)
		if !accept {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	tb.Cleanup(h.Close)
	return h
}

func (h *hook) accepted() (byEvent map[string]int, byReplica map[string]int, bad []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return copyMap(h.byEvent), copyMap(h.byReplica), append([]string(nil), h.bad...)
}

func (h *hook) body(id string) (webhook.Body, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.bodies[id]
	return b, ok
}

// statusBySession is the status each session's webhooks carried.
func (h *hook) statusBySession() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]string{}
	for _, b := range h.bodies {
		out[b.SessionID] = b.Status
	}
	return out
}

// duplicates counts deliveries of an event beyond its first.
func (h *hook) duplicates() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.byEvent {
		n += c - 1
	}
	return n
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var replicaRE = regexp.MustCompile(`\(([^)]*)\)`)

func replicaOf(agent string) string {
	if m := replicaRE.FindStringSubmatch(agent); m != nil {
		return m[1]
	}
	return agent
}

// mustDueEvents pays n orders straight through the service, with no
// sender running, so n webhooks wait in the outbox, due at once, for the
// single merchant the gateways under test configure.
func mustDueEvents(tb testing.TB, redisURL, hookURL string, n int) {
	tb.Helper()
	opts, err := redisOptions(redisURL)
	if err != nil {
		tb.Fatal(err)
	}
	rdb := redis.NewUniversalClient(opts)
	defer rdb.Close()
	m := &extension.Merchant{Merchant: provider.Merchant{ID: "default", InstallmentRates: provider.DefaultInstallmentRates()},
		Username: testUser, Password: testPassword, HashKey: testHashKey, WebhookURL: hookURL, WebhookHashKey: testWebhookKey}
	ms, err := extension.NewMerchants([]*extension.Merchant{m})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := provider.DefaultConfig()
	store := redisstore.New(rdb, "gw", 1)
	svc := provider.NewService(store, map[string]provider.Processor{sandbox.Name: sandbox.New(rdb, sandbox.Options{PendingDelay: time.Second})}, sandbox.Name, cfg)
	svc.SetEvents(webhook.NewEncoder(ms, nil))
	ctx := context.Background()
	for i := range n {
		order := "due-" + strconv.Itoa(i)
		_, err := svc.StartSession(ctx, provider.StartInput{Request: provider.Request{Merchant: &m.Merchant, GUID: "g-" + order, OrderID: order, Fingerprint: order},
			Type: provider.Sale, Amount: 1000, Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"})
		if err != nil {
			tb.Fatal(err)
		}
		sess, err := store.Order(ctx, m.ID, order)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := svc.Pay(ctx, &m.Merchant, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"}); err != nil {
			tb.Fatal(err)
		}
	}
}

// akinon calls one of the five endpoints and decodes the answer.
func akinon(tb testing.TB, base, path string, body map[string]any, out any) int {
	tb.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(testUser, testPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// startSession starts a SALE session and returns its id and redirect URL.
func startSession(tb testing.TB, base, order string) (sid, redirect string) {
	tb.Helper()
	var out struct{ SessionID, RedirectURL string }
	code := akinon(tb, base, "/start-session", map[string]any{
		"version": "1", "guid": "start-" + order, "orderId": order, "orderAmount": 120.5, "locale": "en",
		"returnUrl": "http://127.0.0.1:9/return", "type": "SALE", "currency": "TRY",
		"customer": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
	}, &out)
	if code != http.StatusOK {
		tb.Fatalf("start-session: %d", code)
	}
	return out.SessionID, out.RedirectURL
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// payByCard is the shopper: open the hosted page, post the card form.
func payByCard(tb testing.TB, redirect, card string) string {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(redirect)
	if err != nil {
		tb.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if m == nil {
		tb.Fatalf("no form on the hosted page (%d): %s", resp.StatusCode, page)
	}
	form := url.Values{"_csrf": {string(m[1])}, "cardHolder": {"Ada Lovelace"}, "cardNumber": {card},
		"expiry": {"12/39"}, "cvc": {"123"}, "installment": {"1"}}
	resp, err = c.PostForm(redirect, form)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return string(out)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
