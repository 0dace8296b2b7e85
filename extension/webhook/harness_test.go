package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/webhook"
	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// webhookKey signs what the receiver gets: the test kit's merchant's, so
// one receiver checks the deliveries of the gateway the kit starts too.
const webhookKey = gatewaytest.WebhookKey

// delivery is one request the receiver got, checked as a receiver would.
type delivery struct {
	at       time.Time
	eventID  string // the body's
	headerID string // webhook-id
	body     []byte
	hashOK   bool
	sigErr   error
	agent    string
}

// receiver is a real HTTP server on loopback standing in for Akinon's
// webhook endpoint; answer decides each response, and headers, when set,
// adds headers to it.
type receiver struct {
	*httptest.Server
	opened  atomic.Int64 // connections the senders opened to it
	mu      sync.Mutex
	got     []delivery
	answer  func(n int, d delivery) int // n: deliveries of this event so far, from 1
	headers func(n int) http.Header
}

func mustReceiver(tb testing.TB, answer func(n int, d delivery) int) *receiver {
	tb.Helper()
	r := &receiver{answer: answer}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{at: time.Now(), headerID: req.Header.Get(hashing.HeaderWebhookID), body: body, agent: req.UserAgent()}
		var b webhook.Body
		if err := json.Unmarshal(body, &b); err == nil {
			d.eventID = b.EventID
			d.hashOK = hashing.VerifyWebhook(webhookKey, b.Hash, b.Fields())
		}
		d.sigErr = hashing.VerifyStandard([]byte(webhookKey), d.headerID, req.Header.Get(hashing.HeaderWebhookTimestamp),
			req.Header.Get(hashing.HeaderWebhookSignature), body, time.Now(), hashing.DefaultTolerance)
		r.mu.Lock()
		r.got = append(r.got, d)
		n := 0
		for _, g := range r.got {
			if g.eventID == d.eventID {
				n++
			}
		}
		answer, headers := r.answer, r.headers
		r.mu.Unlock()
		if headers != nil {
			for k, v := range headers(n) {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(answer(n, d))
	}))
	r.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			r.opened.Add(1)
		}
	}
	r.Start()
	tb.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func (r *receiver) setAnswer(f func(n int, d delivery) int) {
	r.mu.Lock()
	r.answer = f
	r.mu.Unlock()
}

// world is a store, a service that queues events and the merchant whose
// webhook is the receiver.
type world struct {
	store     *redisstore.Store
	svc       *provider.Service
	merchants *extension.Merchants
	merchant  *extension.Merchant
	schedule  []time.Duration
}

func mustWorld(tb testing.TB, srv *redistest.Server, url string, schedule []time.Duration) *world {
	tb.Helper()
	m := &extension.Merchant{
		Merchant: provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()},
		Username: "u", Password: "p", HashKey: strings.Repeat("k", 32), WebhookURL: url, WebhookHashKey: webhookKey,
	}
	ms, err := extension.NewMerchants([]*extension.Merchant{m})
	if err != nil {
		tb.Fatal(err)
	}
	st := redisstore.New(srv.Client(tb), redistest.Prefix(tb), 1)
	cfg := provider.DefaultConfig()
	cfg.Backoff = time.Millisecond
	bank := sandbox.New(redistest.Shared(tb).Client(tb), sandbox.Options{Prefix: redistest.Prefix(tb), PendingDelay: 50 * time.Millisecond})
	svc := gatewaytest.Service(st, bank, cfg)
	svc.SetEvents(webhook.NewEncoder(ms, schedule))
	return &world{store: st, svc: svc, merchants: ms, merchant: m, schedule: schedule}
}

// mustPaidOrder pays an order on the hosted page's path, which queues
// one webhook, and returns the session.
func (w *world) mustPaidOrder(tb testing.TB, order, card string) *provider.Session {
	tb.Helper()
	ctx := context.Background()
	req := provider.Request{Merchant: &w.merchant.Merchant, GUID: "start-" + order, OrderID: order, Fingerprint: "fp-" + order}
	_, err := w.svc.StartSession(ctx, provider.StartInput{Request: req, Type: provider.Sale, Amount: 10050, Currency: "TRY",
		Locale: "en", ReturnURL: "https://shop.example/return"})
	if err != nil {
		tb.Fatal(err)
	}
	sess, err := w.store.Order(ctx, w.merchant.ID, order)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := w.svc.Pay(ctx, &w.merchant.Merchant, sess, provider.CardForm{CardHolder: "A B", CardNumber: card, Expiry: "12/39", CVC: "123"})
	if err != nil {
		tb.Fatal(err)
	}
	return v.Session
}

func (w *world) sender(replica string, timeout time.Duration) *webhook.Sender {
	return webhook.NewSender(w.store, w.merchants, nil, webhook.Config{AllowPrivate: true, // receivers on loopback
		Schedule: w.schedule, Timeout: timeout, Workers: 8, Poll: 10 * time.Millisecond,
		Retention: time.Hour, Replica: replica,
	}, nil)
}

// runSender runs a sender until the test ends and waits for it to stop.
func runSender(tb testing.TB, s *webhook.Sender) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	stop = func() {
		cancel()
		<-done
	}
	tb.Cleanup(stop)
	return sync.OnceFunc(stop)
}

func ms(list ...int) []time.Duration {
	out := make([]time.Duration, len(list))
	for i, v := range list {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func describe(ds []delivery) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s %s\n", d.at.Format("15:04:05.000"), d.eventID)
	}
	return b.String()
}
