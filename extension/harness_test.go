package extension_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/akinon-gateway/gateway/cmd/gateway/app"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/extension/openapicheck"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Credentials and keys of the merchant every test gateway serves.
const (
	testUser     = "akinon-gw" // not the development one, which only DEV_MODE takes
	testPassword = "test-password-0123"
	testHashKey  = "test-hash-key-0123456789abcdef0123456789"
	returnURL    = "https://shop.example/orders/return"
)

// epoch is where every test clock starts: the contract's example moment,
// 2026-11-22T14:05:09.123+03:00. The clock moves only when a test moves
// it, so timestamps in bodies are fixed and golden files can hold them.
var epoch = time.Date(2026, 11, 22, 11, 5, 9, 123e6, time.UTC)

// gate holds one processor call until the test releases it: before the
// bank acts, or (after) once it has acted and before its answer returns.
type gate struct {
	entered chan struct{}
	release chan struct{}
	after   bool
}

// bank is what a test sees of the gateway's sandbox bank: a call can be
// held inside the processor, every reference the processor saw is kept,
// and the bank's books can be read.
type bank struct {
	books *sandbox.Processor // a reader of the bank's books in Redis
	mu    sync.Mutex
	gates map[string]*gate
	refs  map[string][]string
}

// wrap is the app.WithProcessors seam: every merchant's processor goes
// through the bank's gates and counts.
func (b *bank) wrap(_, _ string, p provider.Processor) provider.Processor {
	return &gated{Processor: p, bank: b}
}

// hold makes the next call of method wait inside the processor, before
// the bank acts, until the returned release is called; entered is closed
// when it arrives.
func (b *bank) hold(tb testing.TB, method string) (entered <-chan struct{}, release func()) {
	tb.Helper()
	return b.gate(tb, method, false)
}

// holdAnswer lets the next call of method reach the bank, which acts,
// and holds its answer until release: the request does not know what
// the bank did.
func (b *bank) holdAnswer(tb testing.TB, method string) (entered <-chan struct{}, release func()) {
	tb.Helper()
	return b.gate(tb, method, true)
}

func (b *bank) gate(tb testing.TB, method string, after bool) (entered <-chan struct{}, release func()) {
	tb.Helper()
	g := &gate{entered: make(chan struct{}), release: make(chan struct{}), after: after}
	b.mu.Lock()
	b.gates[method] = g
	b.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(g.release) }) }
	tb.Cleanup(release)
	return g.entered, release
}

// pass records a call and runs it through its gate, if one is set: the
// gate waits before the bank acts, or after.
func pass[T any](b *bank, ctx context.Context, method, ref string, act func() (T, error)) (T, error) {
	b.mu.Lock()
	g := b.gates[method]
	delete(b.gates, method)
	b.refs[method] = append(b.refs[method], ref)
	b.mu.Unlock()
	wait := func() {
		close(g.entered)
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
	if g != nil && !g.after {
		wait()
	}
	res, err := act()
	if g != nil && g.after {
		wait()
		if ctx.Err() != nil {
			var zero T
			return zero, ctx.Err()
		}
	}
	return res, err
}

func (b *bank) references(method string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.refs[method]...)
}

// Calls is how many times the processor was asked to do method.
func (b *bank) Calls(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.refs[method])
}

// Effects is how many distinct operations of method the bank acted on.
func (b *bank) Effects(method string) int { return b.books.Effects(method) }

// Account is the bank's books for one payment.
func (b *bank) Account(ctx context.Context, payReference string) (sandbox.Account, error) {
	return b.books.Account(ctx, payReference)
}

// gated is one merchant's processor seen through the bank's gates.
type gated struct {
	provider.Processor
	bank *bank
}

var _ provider.Processor = (*gated)(nil)

func (p *gated) Authorise(ctx context.Context, req provider.AuthoriseRequest) (provider.Result, error) {
	return pass(p.bank, ctx, "Authorise", req.Reference, func() (provider.Result, error) { return p.Processor.Authorise(ctx, req) })
}

// Complete reaches the bank through the wrapped processor's Completer,
// which the gateway's own wrapper of every processor offers.
func (p *gated) Complete(ctx context.Context, req provider.CompleteRequest) (provider.Result, error) {
	return pass(p.bank, ctx, "Complete", req.Reference, func() (provider.Result, error) {
		return p.Processor.(provider.Completer).Complete(ctx, req)
	})
}

func (p *gated) Capture(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return pass(p.bank, ctx, "Capture", req.Reference, func() (provider.Result, error) { return p.Processor.Capture(ctx, req) })
}

func (p *gated) Void(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return pass(p.bank, ctx, "Void", req.Reference, func() (provider.Result, error) { return p.Processor.Void(ctx, req) })
}

func (p *gated) Refund(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return pass(p.bank, ctx, "Refund", req.Reference, func() (provider.Result, error) { return p.Processor.Refund(ctx, req) })
}

func (p *gated) Status(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return pass(p.bank, ctx, "Status", req.Reference, func() (provider.Result, error) { return p.Processor.Status(ctx, req) })
}

func (p *gated) Inquire(ctx context.Context, req provider.InquiryRequest) (provider.Inquiry, error) {
	return pass(p.bank, ctx, "Inquire", req.Reference, func() (provider.Inquiry, error) { return p.Processor.Inquire(ctx, req) })
}

// gateway is the production assembly (gatewaytest.Start) on a
// redis-server of its own, with the parts a test reads or acts on.
type gateway struct {
	URL       string
	ACSURL    string // the sandbox bank's 3-D Secure origin
	svc       *provider.Service
	store     *redisstore.Store
	bank      *bank
	clock     *gatewaytest.Clock
	rdb       *redis.Client // the gateway's Redis, its keys under prefix
	prefix    string
	logs      *observer.ObservedLogs
	merchant  *extension.Merchant
	merchants *extension.Merchants
	handler   http.Handler // what the gateway's listener serves
	server    *extension.Server
}

type gatewayConfig struct {
	redis       *redistest.Server // nil: a server of the test's own
	sessionTTL  time.Duration
	callTimeout time.Duration // "": production's PROCESSOR_TIMEOUT
	rates       map[int]int
	publicURL   string // "": the gateway's own address
	admin       bool   // operator endpoints on, with adminUser/adminPassword
	webhookURL  string // the merchant's webhooks go there; "": none
	schedule    []time.Duration
}

type option func(*gatewayConfig)

// onRedis puts the gateway on a private server the test may kill; the
// bank keeps its books on another, as another company's system would.
func onRedis(s *redistest.Server) option { return func(c *gatewayConfig) { c.redis = s } }

func withSessionTTL(d time.Duration) option { return func(c *gatewayConfig) { c.sessionTTL = d } }
func withRates(r map[int]int) option        { return func(c *gatewayConfig) { c.rates = r } }

// withCallTimeout lets a processor call (and so a call a test holds in
// the bank) last d, the request lease growing with it as the service
// requires.
func withCallTimeout(d time.Duration) option { return func(c *gatewayConfig) { c.callTimeout = d } }

// Operator credentials of withAdmin.
const (
	adminUser     = "operator"
	adminPassword = "operator-password"
)

// withAdmin mounts the operator endpoints (ADMIN_USERNAME, ADMIN_PASSWORD).
func withAdmin() option { return func(c *gatewayConfig) { c.admin = true } }

// webhookKey signs the webhooks of withWebhooks.
const webhookKey = "test-webhook-key-0123456789abcdef0123456"

// withWebhooks sends the merchant's webhooks to url on the schedule; a
// test runs the sender (gateway.runSender).
func withWebhooks(url string, schedule []time.Duration) option {
	return func(c *gatewayConfig) { c.webhookURL, c.schedule = url, schedule }
}

// withPublicURL sets PUBLIC_URL, e.g. to an https address the gateway
// does not serve: redirectUrl then points there.
func withPublicURL(u string) option { return func(c *gatewayConfig) { c.publicURL = u } }

// mustGateway starts the gateway through the one test kit. Its settings
// are production's but for what a test drives itself: no background jobs,
// reconciler or webhook sender run on their own (a test calls
// RunJobsOnce, ReconcileOnce or runSender), no throttle counts, and the
// clock and the bank's clock stand at epoch until the test moves them.
func mustGateway(tb testing.TB, opts ...option) *gateway {
	tb.Helper()
	cfg := gatewayConfig{sessionTTL: 30 * time.Minute, rates: provider.DefaultInstallmentRates()}
	for _, o := range opts {
		o(&cfg)
	}
	g := &gateway{clock: gatewaytest.NewClock(epoch), prefix: "gw",
		bank: &bank{gates: map[string]*gate{}, refs: map[string][]string{}}}
	// The bank's books share the gateway's server, unless the test brings
	// a server of its own (to kill or fill it): then the books keep theirs.
	srv := cfg.redis
	if srv == nil {
		srv = redistest.Start(tb)
	}
	books := srv
	if cfg.redis != nil {
		books = redistest.Start(tb)
	}
	// Fail fast while the server is down, as the gateway's own client does.
	g.rdb = redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	tb.Cleanup(func() { g.rdb.Close() })
	g.bank.books = sandbox.New(books.Client(tb), sandbox.Options{})

	addr, acs := gatewaytest.FreeAddr(tb), gatewaytest.FreeAddr(tb)
	g.URL, g.ACSURL = "http://"+addr, "http://"+acs
	if cfg.publicURL == "" {
		cfg.publicURL = g.URL
	}
	env := gatewaytest.Env(addr, srv.URL(), "", map[string]string{
		"PUBLIC_URL":         cfg.publicURL,
		"MERCHANTS_FILE":     merchantsFile(tb, cfg),
		"DEV_MODE":           "false", // return URLs must be https, as in production
		"ALLOW_SANDBOX":      "true",
		"PROCESSOR":          sandbox.Name,
		"SANDBOX_ACS_ADDR":   acs,
		"SESSION_TTL":        cfg.sessionTTL.String(),
		"REQUEST_LEASE":      "30s",
		"FINISH_RETRY":       "300ms",
		"JOBS_INTERVAL":      "1000h",
		"RECONCILE_INTERVAL": "1000h",
		"WEBHOOK_POLL":       "1000h",
		"THROTTLE_AUTH_IP":   "0", "THROTTLE_AUTH_USER": "0", "THROTTLE_CARD_IP": "0",
		"THROTTLE_CARD_MERCHANT": "0", "THROTTLE_CARD_BIN": "0",
		"LOG_LEVEL": "error",
	})
	for _, k := range []string{"GATEWAY_USERNAME", "GATEWAY_PASSWORD", "HASH_KEY", "WEBHOOK_URL", "WEBHOOK_HASH_KEY"} {
		delete(env, k)
	}
	if cfg.redis != nil {
		env["SANDBOX_REDIS_URL"] = books.URL()
	}
	if cfg.callTimeout > 0 {
		env["PROCESSOR_TIMEOUT"], env["REQUEST_LEASE"] = cfg.callTimeout.String(), (4 * cfg.callTimeout).String()
	}
	if cfg.admin {
		env["ADMIN_USERNAME"], env["ADMIN_PASSWORD"] = adminUser, adminPassword
	}
	if cfg.webhookURL != "" {
		env["WEBHOOK_ALLOW_PRIVATE"] = "true" // the test's receiver listens on loopback
	}
	if cfg.schedule != nil {
		s := make([]string, len(cfg.schedule))
		for i, d := range cfg.schedule {
			s[i] = d.String()
		}
		env["WEBHOOK_RETRY_SCHEDULE"] = strings.Join(s, ",")
	}
	core, logs := observer.New(zapcore.DebugLevel)
	g.logs = logs
	gw := gatewaytest.Start(tb, env, app.WithClock(g.clock.Now), app.WithProcessors(g.bank.wrap), app.WithLogCore(core))
	g.svc, g.store, g.merchants, g.handler = gw.Service, gw.Store, gw.Merchants, gw.Handler
	g.server = gw.Server
	g.merchant = gw.Merchants.ByID("default")
	return g
}

// merchantsFile writes the MERCHANTS_FILE of a test gateway: the merchant
// the tests act as, and another one on the same gateway.
func merchantsFile(tb testing.TB, cfg gatewayConfig) string {
	tb.Helper()
	rates := map[string]int{}
	for n, r := range cfg.rates {
		rates[strconv.Itoa(n)] = r
	}
	main := map[string]any{"id": "default", "username": testUser, "password": testPassword, "hashKey": testHashKey,
		"installmentRates": rates}
	if cfg.webhookURL != "" {
		main["webhookUrl"], main["webhookHashKey"] = cfg.webhookURL, webhookKey
	}
	other := map[string]any{"id": "other", "username": "other-shop", "password": "other-password-0123",
		"hashKey": strings.Repeat("o", 40), "returnHosts": []string{"shop.example"}}
	b, err := json.Marshal(map[string]any{"merchants": []any{main, other}})
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "merchants.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// response is an HTTP answer, read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string { return http.StatusText(r.Status) + " " + string(r.Body) }

// errorBody is the contract's error body.
type errorBody struct {
	TransactionID string `json:"transactionId"`
	Status        string `json:"status"`
	SubStatus     string `json:"subStatus"`
	Errors        []struct {
		Code    string `json:"code"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// request options.
type reqOption func(*http.Request)

func withAuth(user, pass string) reqOption {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}
func withHeader(k, v string) reqOption { return func(r *http.Request) { r.Header.Set(k, v) } }
func withoutHeader(k string) reqOption { return func(r *http.Request) { r.Header.Del(k) } }
func withoutAuth() reqOption           { return withoutHeader("Authorization") }

// offDocument marks a request that is off openapi.json on purpose, such
// as an unknown endpoint: it is sent unchecked.
func offDocument() reqOption { return func(r *http.Request) { *r = *openapicheck.Unlisted(r) } }

// spec is the package's one checker of exchanges against openapi.json;
// TestMain reports its counts.
func spec(tb testing.TB) *openapicheck.Checker {
	tb.Helper()
	c, err := openapicheck.Shared()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// call sends one Akinon call as Akinon does.
func (g *gateway) call(tb testing.TB, path, body string, opts ...reqOption) *response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(testUser, testPassword)
	for _, o := range opts {
		o(req)
	}
	return do(tb, http.DefaultClient, req)
}

// do sends a request and reads the answer whole. Every exchange, each
// redirect a client follows included, is held against openapi.json on the
// way (see extension/openapicheck): one the document does not describe
// fails the test.
func do(tb testing.TB, c *http.Client, req *http.Request) *response {
	tb.Helper()
	checked := *c
	checked.Transport = &openapicheck.Transport{Base: c.Transport, Checker: spec(tb), Report: func(err error) {
		tb.Errorf("openapi.json: %v", err)
	}}
	resp, err := checked.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func mustJSON(tb testing.TB, r *response, dst any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, dst); err != nil {
		tb.Fatalf("body %q: %v", r.Body, err)
	}
}

// body builds a JSON request from a base with edits at dotted paths.
type edit func(map[string]any)

func set(path string, v any) edit {
	return func(m map[string]any) {
		parts := strings.Split(path, ".")
		for _, p := range parts[:len(parts)-1] {
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = v
	}
}

func del(path string) edit {
	return func(m map[string]any) {
		parts := strings.Split(path, ".")
		for _, p := range parts[:len(parts)-1] {
			m = m[p].(map[string]any)
		}
		delete(m, parts[len(parts)-1])
	}
}

// number is a JSON number written exactly as given.
type number string

func (n number) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func body(base map[string]any, edits ...edit) string {
	m := deepCopy(base)
	for _, e := range edits {
		e(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = deepCopy(sub)
		}
		out[k] = v
	}
	return out
}

func startBody(order, guid string, amount string) map[string]any {
	return map[string]any{
		"version": "1.0", "guid": guid, "orderId": order, "orderAmount": number(amount),
		"locale": "tr", "returnUrl": returnURL, "type": "SALE", "currency": "TRY", "clientIp": "203.0.113.7",
		"customer": map[string]any{"firstName": "Ayşe", "lastName": "Yılmaz", "phoneNumber": "+905551112233",
			"email": "ayse@example.com", "clientIp": "203.0.113.7"},
	}
}

func opBody(order, guid string) map[string]any {
	return map[string]any{"version": "1.0", "guid": guid, "orderId": order}
}

func refundBody(order, guid, amount string) map[string]any {
	return map[string]any{"version": "1.0", "guid": guid, "orderId": order, "amount": number(amount), "currency": "TRY"}
}

// started is a start-session's answer.
type started struct {
	Type           string `json:"type"`
	RedirectURL    string `json:"redirectUrl"`
	RedirectMethod string `json:"redirectMethod"`
	SessionID      string `json:"sessionId"`
	TransactionID  string `json:"transactionId"`
}

func (g *gateway) mustStart(tb testing.TB, order string, edits ...edit) started {
	tb.Helper()
	r := g.call(tb, "/start-session", body(startBody(order, "start-"+order, "100.00"), edits...))
	if r.Status != http.StatusOK {
		tb.Fatalf("start-session %s: %s", order, r)
	}
	var s started
	mustJSON(tb, r, &s)
	return s
}

// operation is the answer of purchase, void and refund.
type operation struct {
	TransactionID string `json:"transactionId"`
	Status        string `json:"status"`
	SubStatus     string `json:"subStatus"`
}

func (g *gateway) mustOperate(tb testing.TB, path, body string, want string) operation {
	tb.Helper()
	r := g.call(tb, path, body)
	if r.Status != http.StatusOK {
		tb.Fatalf("%s: %s", path, r)
	}
	var op operation
	mustJSON(tb, r, &op)
	if op.Status != want {
		tb.Fatalf("%s: status %s, want %s (%s)", path, op.Status, want, r.Body)
	}
	return op
}

// history is the history call's answer.
type history struct {
	LastAction string      `json:"lastAction"`
	Status     string      `json:"status"`
	Substatus  string      `json:"substatus"`
	Balance    json.Number `json:"balance"` // kept as written: the contract prints 2 decimals
	Currency   string      `json:"currency"`
	Steps      []struct {
		GUID          string             `json:"guid"`
		Type          string             `json:"type"`
		Timestamp     string             `json:"timestamp"`
		StatusCode    string             `json:"statusCode"`
		SubStatusCode string             `json:"subStatusCode"`
		StatusDetail  string             `json:"statusDetail"`
		SubSteps      []provider.SubStep `json:"subSteps"`
	} `json:"paymentTransactionHistory"`
}

var historySeq atomic.Int64

func (g *gateway) mustHistory(tb testing.TB, order string) (history, *response) {
	tb.Helper()
	r := g.call(tb, "/history", body(opBody(order, "history-"+order+"-"+strconv.FormatInt(historySeq.Add(1), 10))))
	if r.Status != http.StatusOK {
		tb.Fatalf("history %s: %s", order, r)
	}
	var h history
	mustJSON(tb, r, &h)
	return h, r
}

// card is what a shopper types.
type card struct {
	Holder, Number, Expiry, CVC, Installment string
}

func cardOf(number string) card {
	return card{Holder: "Ayşe Yılmaz", Number: number, Expiry: "07/37", CVC: "739", Installment: "1"}
}

// browser is a shopper's browser: it keeps cookies and follows redirects,
// and sends no Sec-Fetch-Site header, so the anti-forgery token is what
// protects its forms.
type browser struct {
	c *http.Client
}

func newBrowser(tb testing.TB) *browser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &browser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *browser) get(tb testing.TB, u string) *response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return do(tb, b.c, req)
}

func (b *browser) post(tb testing.TB, u string, form url.Values) *response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(tb, b.c, req)
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="POST" action="([^"]*)"`)
)

// hidden reads the hidden fields of a page.
func hidden(page []byte) map[string]string {
	out := map[string]string{}
	for _, m := range hiddenRE.FindAllSubmatch(page, -1) {
		out[string(m[1])] = html.UnescapeString(string(m[2]))
	}
	return out
}

func formAction(page []byte) string {
	m := actionRE.FindSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(string(m[1]))
}

func (c card) form(csrf string) url.Values {
	return url.Values{"_csrf": {csrf}, "cardHolder": {c.Holder}, "cardNumber": {c.Number},
		"expiry": {c.Expiry}, "cvc": {c.CVC}, "installment": {c.Installment}}
}

// cardForm opens the hosted page and fills its card form with c and the
// page's anti-forgery token.
func (b *browser) cardForm(tb testing.TB, redirect string, c card) url.Values {
	tb.Helper()
	page := b.get(tb, redirect)
	if page.Status != http.StatusOK {
		tb.Fatalf("GET %s: %s", redirect, page)
	}
	csrf := hidden(page.Body)["_csrf"]
	if csrf == "" {
		tb.Fatalf("the card form has no anti-forgery token:\n%s", page.Body)
	}
	return c.form(csrf)
}

// pay opens the hosted page and sends the card form with its token,
// returning the page the shopper ends on.
func (b *browser) pay(tb testing.TB, redirect string, c card) *response {
	tb.Helper()
	return b.post(tb, redirect, b.cardForm(tb, redirect, c))
}

// mustReachBank waits until a held call (bank.hold) has reached the
// bank; what names the call for the failure.
func mustReachBank(tb testing.TB, entered <-chan struct{}, what string) {
	tb.Helper()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		tb.Fatal(what + " never reached the processor")
	}
}

// mustCallBankOnce holds the bank to one call of method.
func (g *gateway) mustCallBankOnce(tb testing.TB, method string) {
	tb.Helper()
	if n := g.bank.Calls(method); n != 1 {
		tb.Fatalf("the processor was called %d times for %s, want once", n, method)
	}
}

// mustFail holds an answer to its status and its first error's code.
func mustFail(tb testing.TB, r *response, status int, code string) {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if e := checkErrorBody(tb, r); e.Errors[0].Code != code {
		tb.Fatalf("errors %+v, want %s", e.Errors, code)
	}
}

// mustReconcileOne runs one reconciler pass, which must settle the one
// payment in doubt, and returns the fields the shopper's page at redirect
// then sends back to the shop, whose status must be want.
func (g *gateway) mustReconcileOne(tb testing.TB, b *browser, redirect, want string) map[string]string {
	tb.Helper()
	rep, err := g.svc.ReconcileOnce(context.Background())
	if err != nil || rep.Settled+rep.NotReceived != 1 {
		tb.Fatalf("reconcile = %+v, %v", rep, err)
	}
	_, f := returned(tb, b.get(tb, redirect))
	if f["status"] != want {
		tb.Fatalf("settled as %v, want %s", f, want)
	}
	return f
}

// returned reads the auto-submitting return form: its action and fields.
func returned(tb testing.TB, page *response) (action string, fields map[string]string) {
	tb.Helper()
	if page.Status != http.StatusOK || !bytes.Contains(page.Body, []byte(`id="return"`)) {
		tb.Fatalf("not the return page: %d\n%s", page.Status, page.Body)
	}
	return formAction(page.Body), hidden(page.Body)
}

// mustPaid starts a session and pays it with a card on the hosted page.
func (g *gateway) mustPaid(tb testing.TB, order, number string, edits ...edit) started {
	tb.Helper()
	s := g.mustStart(tb, order, edits...)
	page := newBrowser(tb).pay(tb, s.RedirectURL, cardOf(number))
	if _, f := returned(tb, page); f["status"] != "RESOLVED" {
		tb.Fatalf("paying %s with %s: %v", order, number, f)
	}
	return s
}

// mustOrderIn brings a new order to a state by real calls.
func (g *gateway) mustOrderIn(tb testing.TB, order, state string) {
	tb.Helper()
	switch state {
	case "none":
	case "started":
		g.mustStart(tb, order)
	case "paid":
		g.mustPaid(tb, order, sandbox.CardApproved)
	case "paid-auth":
		g.mustPaid(tb, order, sandbox.CardApproved, set("type", "AUTH"))
	case "purchased":
		g.mustPaid(tb, order, sandbox.CardApproved)
		g.mustOperate(tb, "/purchase", body(opBody(order, "purchase-"+order)), "RESOLVED")
	case "refunded":
		g.mustOrderIn(tb, order, "purchased")
		g.mustOperate(tb, "/refund", body(refundBody(order, "refund-"+order, "30.00")), "RESOLVED")
	case "voided":
		g.mustPaid(tb, order, sandbox.CardApproved)
		g.mustOperate(tb, "/void", body(opBody(order, "void-"+order)), "RESOLVED")
	case "rejected":
		s := g.mustStart(tb, order)
		page := newBrowser(tb).pay(tb, s.RedirectURL, cardOf(sandbox.CardDeclined))
		if _, f := returned(tb, page); f["status"] != "REJECTED" {
			tb.Fatalf("declined card: %v", f)
		}
	default:
		tb.Fatalf("unknown state %q", state)
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			tb.Errorf("%s differs from the golden file at line %d (go test -update rewrites it)\n got: %s\nwant: %s", path, i+1, gl, wl)
			return
		}
	}
}
