package extension_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
	"github.com/akinon-gateway/gateway/provider/sandbox"
)

// The benchmarks measure what a call costs against two baselines taken
// in the same run: an Echo handler that touches nothing (BenchmarkBaseline)
// and one Redis round trip (BenchmarkRedisRoundTrip). `make bench` prints
// every result as a ratio of both, so a regression shows as a ratio that
// moved, whatever the machine's speed.

type benchGateway struct {
	srv   *extension.Server
	merch *provider.Merchant
	svc   *provider.Service
}

func mustBenchGateway(b *testing.B) (*benchGateway, *redistest.Server) {
	b.Helper()
	rs := redistest.Start(b)
	st := redisstore.New(rs.Client(b), "bench", 1)
	bank := sandbox.New(rs.Client(b), sandbox.Options{Prefix: "bench-bank", PendingDelay: time.Second})
	svc := provider.NewService(st, map[string]provider.Processor{sandbox.Name: bank}, sandbox.Name, provider.DefaultConfig())
	m := &extension.Merchant{Merchant: provider.Merchant{ID: "m", InstallmentRates: provider.DefaultInstallmentRates()},
		Username: "u", Password: "p", HashKey: strings.Repeat("k", 32), HashScheme: hashing.DefaultScheme}
	ms, err := extension.NewMerchants([]*extension.Merchant{m})
	if err != nil {
		b.Fatal(err)
	}
	srv := extension.New(extension.Options{Service: svc, Merchants: ms, PublicURL: "https://gw.example"})
	return &benchGateway{srv: srv, merch: &m.Merchant, svc: svc}, rs
}

func (g *benchGateway) post(b *testing.B, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("u", "p")
	rec := httptest.NewRecorder()
	g.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	return rec
}

// mustPurchased makes a purchased order large enough for many refunds.
func (g *benchGateway) mustPurchased(b *testing.B, order string) {
	b.Helper()
	ctx := context.Background()
	var sid string
	rec := g.post(b, "/start-session", `{"guid":"s-`+order+`","orderId":"`+order+`","orderAmount":999999999.99,"locale":"en",
		"returnUrl":"https://shop.example/r","type":"SALE","currency":"TRY","customer":{"firstName":"A","lastName":"B","email":"a@example.com"}}`)
	var out struct{ SessionID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	sid = out.SessionID
	sess, err := g.svc.Session(ctx, sid)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := g.svc.Pay(ctx, g.merch, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"}); err != nil {
		b.Fatal(err)
	}
	g.post(b, "/purchase", `{"guid":"p-`+order+`","orderId":"`+order+`"}`)
}

func BenchmarkBaseline(b *testing.B) {
	g, _ := mustBenchGateway(b)
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		g.srv.ServeHTTP(rec, req)
	}
}

func BenchmarkRedisRoundTrip(b *testing.B) {
	_, rs := mustBenchGateway(b)
	c := rs.Client(b)
	ctx := context.Background()
	for b.Loop() {
		if err := c.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefundReplayed(b *testing.B) {
	g, _ := mustBenchGateway(b)
	g.mustPurchased(b, "o-replay")
	body := `{"guid":"r-1","orderId":"o-replay","amount":0.01,"currency":"TRY"}`
	g.post(b, "/refund", body)
	for b.Loop() {
		g.post(b, "/refund", body)
	}
}

func BenchmarkRefundNew(b *testing.B) {
	g, _ := mustBenchGateway(b)
	g.mustPurchased(b, "o-new")
	i := 0
	for b.Loop() {
		i++
		g.post(b, "/refund", `{"guid":"r-`+strconv.Itoa(i)+`","orderId":"o-new","amount":0.01,"currency":"TRY"}`)
	}
}

func BenchmarkHistoryNew(b *testing.B) {
	g, _ := mustBenchGateway(b)
	g.mustPurchased(b, "o-hist")
	i := 0
	for b.Loop() {
		i++
		g.post(b, "/history", `{"guid":"h-`+strconv.Itoa(i)+`","orderId":"o-hist"}`)
	}
}
