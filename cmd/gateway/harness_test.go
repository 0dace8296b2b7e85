package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
)

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
		sigErr := hashing.VerifyStandard([]byte(gatewaytest.WebhookKey), r.Header.Get(hashing.HeaderWebhookID),
			r.Header.Get(hashing.HeaderWebhookTimestamp), r.Header.Get(hashing.HeaderWebhookSignature), raw, time.Now(), 0)
		h.mu.Lock()
		delay, accept := h.delay, h.accept
		switch {
		case err != nil:
			h.bad = append(h.bad, "body: "+err.Error())
		case !hashing.VerifyWebhook(gatewaytest.WebhookKey, b.Hash, b.Fields()):
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
	opts, err := redisstore.Options(redisURL)
	if err != nil {
		tb.Fatal(err)
	}
	rdb := redis.NewUniversalClient(opts)
	defer rdb.Close()
	m := &extension.Merchant{Merchant: provider.Merchant{ID: "default", InstallmentRates: provider.DefaultInstallmentRates()},
		Username: gatewaytest.User, Password: gatewaytest.Password, HashKey: gatewaytest.HashKey, WebhookURL: hookURL, WebhookHashKey: gatewaytest.WebhookKey}
	ms, err := extension.NewMerchants([]*extension.Merchant{m})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := provider.DefaultConfig()
	store := redisstore.New(rdb, "gw", 1)
	svc := gatewaytest.Service(store, sandbox.New(rdb, sandbox.Options{PendingDelay: time.Second}), cfg)
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

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
