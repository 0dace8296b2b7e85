package commerce

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/hashing"
)

const (
	testHashKey    = "test-hash-key-0123456789abcdef0123456789"
	testWebhookKey = "test-webhook-key-0123456789abcdef01234567"
)

// mustShop is a shop with no gateway behind it: the tests below only take
// paths that do not call one (manual capture, declines, pending).
func mustShop(tb testing.TB, mutate ...func(*Config)) *Shop {
	tb.Helper()
	cfg := Config{Gateway: &Gateway{BaseURL: "http://127.0.0.1:1"}, PublicURL: "http://shop.test",
		HashKey: testHashKey, WebhookHashKey: testWebhookKey, OrderPrefix: "ON-T-"}
	for _, m := range mutate {
		m(&cfg)
	}
	return NewShop(cfg)
}

// mustRedirectedOrder is an order whose start-session went through: the
// shopper is at the bank with session sess.
func mustRedirectedOrder(tb testing.TB, s *Shop, spec OrderSpec, sess string) *Order {
	tb.Helper()
	if spec.Amount == 0 {
		spec.Amount = MustAmount("100.00")
	}
	if spec.Currency == "" {
		spec.Currency = "TRY"
	}
	spec.Capture = CaptureManual
	o := s.NewOrder(spec)
	o.update(func(v *OrderView) {
		v.Status, v.StartGUID, v.SessionID, v.TransactionID = OrderRedirected, "start-guid", sess, "txn-"+sess
		v.RedirectURL = "http://gateway.test/pay/" + sess
	})
	return o
}

// serve sends a request to the shop and returns the recorded answer.
func serve(tb testing.TB, s *Shop, r *http.Request) *httptest.ResponseRecorder {
	tb.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// returnFields are a signed return POST for an order.
func returnFields(o *Order, key string, scheme hashing.Scheme, change func(url.Values)) url.Values {
	v := o.View()
	f := url.Values{
		"salt": {"AbCdEf0123"}, "orderId": {o.Number}, "sessionId": {v.SessionID}, "transactionId": {v.TransactionID},
		"amount": {o.Spec.Amount.String()}, "installment": {"1"}, "currency": {o.Spec.Currency},
		"status": {StatusResolved}, "subStatus": {"RESOLVED"},
	}
	if change != nil {
		change(f)
	}
	f.Set("hash", scheme.SignReturn(key, hashing.ReturnFields{Salt: f.Get("salt"), OrderID: f.Get("orderId"),
		SessionID: f.Get("sessionId"), TransactionID: f.Get("transactionId"), Amount: f.Get("amount"),
		Installment: f.Get("installment"), Currency: f.Get("currency"), Status: f.Get("status"), SubStatus: f.Get("subStatus")}))
	return f
}

func postForm(target string, f url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(f.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// testEvent is a webhook as the gateway writes it. It does not reuse
// webhookBody: a test that wrote events with the reader's own type would
// agree with a mistake in its tags.
type testEvent struct {
	EventID        string          `json:"eventId"`
	EventType      string          `json:"eventType"`
	EventTimestamp string          `json:"eventTimestamp"`
	OrderID        string          `json:"orderId"`
	SessionID      string          `json:"sessionId"`
	TransactionID  string          `json:"transactionId"`
	Status         string          `json:"status"`
	SubStatus      string          `json:"subStatus"`
	Amount         json.RawMessage `json:"amount"`
	Currency       string          `json:"currency"`
	Installment    int             `json:"installment"`
	Salt           string          `json:"salt"`
	Hash           string          `json:"hash"`
}

func newTestEvent(o *Order, id, status, sub string) testEvent {
	v := o.View()
	return testEvent{EventID: id, EventType: EventPaymentStatusChanged, EventTimestamp: "2026-11-23T11:05:09.123+03:00",
		OrderID: o.Number, SessionID: v.SessionID, TransactionID: v.TransactionID, Status: status, SubStatus: sub,
		Amount: json.RawMessage(o.Spec.Amount.String()), Currency: o.Spec.Currency, Installment: 1, Salt: "SaLt012345"}
}

// sign fills the body hash with key.
func (e testEvent) sign(key string) testEvent {
	e.Hash = hashing.SignWebhook(key, hashing.WebhookFields{Salt: e.Salt, EventID: e.EventID, EventTimestamp: e.EventTimestamp,
		OrderID: e.OrderID, TransactionID: e.TransactionID, Amount: string(e.Amount), Status: e.Status, SubStatus: e.SubStatus})
	return e
}

// webhookRequest is the POST the gateway sends, with Standard Webhooks
// headers signed with key at time at.
func webhookRequest(body []byte, id string, key string, at time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, PathWebhook, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(hashing.HeaderWebhookID, id)
	r.Header.Set(hashing.HeaderWebhookTimestamp, itoa(at.Unix()))
	r.Header.Set(hashing.HeaderWebhookSignature, hashing.StandardSignature([]byte(key), id, at, body))
	return r
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// keys lists a JSON object's keys, sorted.
func keys(tb testing.TB, raw []byte) []string {
	tb.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatalf("not a JSON object: %v: %s", err, raw)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
