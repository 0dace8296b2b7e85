package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// mustLiveForever are the only keys without a TTL once everything is
// settled and delivered: per-shard work lists whose members are removed
// as the work is done (and which Redis drops when they empty).
var mustLiveForever = regexp.MustCompile(`^gw:\{\d+\}:(sched:expiry|sched:pending|wh:due|wh:dead|doubt)$`)

// TestEveryKeyExpires: after flows of every kind (a sale purchased and
// refunded, an auth voided, a decline, a pending payment resolved, a 3-D
// Secure payment, an unpaid session expired, a session replaced, a
// refusal stored), with everything settled and every webhook delivered,
// no key in Redis lives forever but the per-shard work lists: sessions,
// histories and session indexes expire ORDER_RETENTION after an order's
// latest change, guid replies after IDEMPOTENCY_TTL, delivered events
// after 7 days, the bank's books after SANDBOX_RETENTION. It measures
// what one order costs.
func TestEveryKeyExpires(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	h := mustHook(t, true)
	base, _ := mustRun(t, gatewayEnv(freeAddr(t), srv.URL(), h.URL, map[string]string{
		"SESSION_TTL": "1s", "SANDBOX_PENDING_DELAY": "200ms", "ORDER_RETENTION": "48h"}))

	sid, redirect := startSession(t, base, "o-sale")
	if ttl := rdb.PTTL(ctx, "gw:{0}:o:default:o-sale").Val(); ttl <= 47*time.Hour || ttl > 48*time.Hour {
		t.Fatalf("a new session's TTL is %s, want ORDER_RETENTION (48h)", ttl)
	}
	if p := payByCard(t, redirect, sandbox.CardApproved); !strings.Contains(p, `value="RESOLVED"`) {
		t.Fatal("the sale was not paid")
	}
	akinon(t, base, "/purchase", map[string]any{"guid": "p-sale", "orderId": "o-sale"}, nil)
	akinon(t, base, "/refund", map[string]any{"guid": "r-sale", "orderId": "o-sale", "amount": 20, "currency": "TRY"}, nil)
	akinon(t, base, "/history", map[string]any{"guid": "h-sale", "orderId": "o-sale"}, nil)
	for order, card := range map[string]string{"o-decline": sandbox.CardDeclined, "o-pending": sandbox.CardPendingOK, "o-void": sandbox.CardApproved} {
		_, r := startSession(t, base, order)
		payByCard(t, r, card)
	}
	akinon(t, base, "/void", map[string]any{"guid": "v-void", "orderId": "o-void"}, nil)
	_, r3 := startSession(t, base, "o-3ds")
	if p := payThreeDS(t, r3); !strings.Contains(p, `value="RESOLVED"`) {
		t.Fatalf("the 3-D Secure payment:\n%s", p)
	}
	startSession(t, base, "o-expired")
	startSession(t, base, "o-replaced")
	akinon(t, base, "/start-session", map[string]any{"version": "1", "guid": "start-o-replaced-2", "orderId": "o-replaced", "orderAmount": 10,
		"locale": "en", "returnUrl": "http://127.0.0.1:9/return", "type": "SALE", "currency": "TRY",
		"customer": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}}, nil)
	if code := akinon(t, base, "/purchase", map[string]any{"guid": "p-refused", "orderId": "o-decline"}, nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("purchase of a declined order: %d", code)
	}

	// Settled: the pending payment resolved, the unpaid sessions expired,
	// every webhook delivered (sale, decline, void's payment, pending,
	// 3-D Secure, two expiries).
	redistest.Eventually(t, 20*time.Second, "every event delivered and nothing due", func() bool {
		byEvent, _, _ := h.accepted()
		return len(byEvent) >= 7 && rdb.ZCard(ctx, "gw:{0}:wh:due").Val() == 0 &&
			rdb.ZCard(ctx, "gw:{0}:sched:pending").Val() == 0 && rdb.ZCard(ctx, "gw:{0}:doubt").Val() == 0
	})

	var forever, all []string
	for _, k := range rdb.Keys(ctx, "*").Val() {
		all = append(all, k)
		switch ttl := rdb.PTTL(ctx, k).Val(); {
		case ttl == -1 && !mustLiveForever.MatchString(k):
			forever = append(forever, k)
		case ttl > 48*time.Hour && strings.Contains(k, ":o:"):
			t.Errorf("%s lives %s, longer than ORDER_RETENTION", k, ttl)
		}
	}
	sort.Strings(forever)
	if len(forever) > 0 {
		t.Fatalf("keys without a TTL that need not live forever:\n%s", strings.Join(forever, "\n"))
	}
	t.Logf("%d keys, none without a TTL but the work lists", len(all))

	// What one order costs: a sale paid, purchased, refunded, its history
	// read, its webhook delivered.
	var orderBytes, guidBytes, eventBytes, bankBytes int64
	usage := func(k string) int64 { return rdb.MemoryUsage(ctx, k).Val() }
	orderBytes += usage("gw:{0}:o:default:o-sale") + usage("gw:{0}:h:default:o-sale") + usage("gw:{0}:x:"+sid) + usage("gw:{0}:g:default:o-sale") +
		usage("gw:{0}:wh:o:default:o-sale")
	for _, g := range []string{"start-o-sale", "p-sale", "r-sale", "h-sale"} {
		guidBytes += usage("gw:{0}:i:default:" + g)
	}
	byEvent, _, _ := h.accepted()
	for id := range byEvent {
		if b, _ := h.body(id); b.SessionID == sid {
			eventBytes += usage("gw:{0}:wh:e:"+id) + usage("gw:{0}:wh:a:"+id)
		}
	}
	for _, k := range rdb.Keys(ctx, "sbx:*").Val() {
		if strings.Contains(k, ":p") || strings.Contains(k, ":l") || strings.Contains(k, ":r:") {
			bankBytes += usage(k)
		}
	}
	t.Logf("one order (sale, purchase, refund, history): session+history+index+settled guids+event index %d B, 4 guid replies %d B, its webhook %d B (7 days), total %d B; the sandbox's books for all %d payments %d B",
		orderBytes, guidBytes, eventBytes, orderBytes+guidBytes+eventBytes, 6, bankBytes)
}

// payThreeDS pays with the 3-D Secure card and answers the code at the
// sandbox's ACS, in one browser, as its pages' scripts would.
func payThreeDS(t *testing.T, redirect string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(u string, fields url.Values) []byte {
		resp, err := c.PostForm(u, fields)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	resp, err := c.Get(redirect)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no form at %s:\n%s", redirect, page)
	}
	page = post(redirect, url.Values{"_csrf": {string(m[1])}, "cardHolder": {"Ada Lovelace"}, "cardNumber": {sandbox.CardThreeDS},
		"expiry": {"12/39"}, "cvc": {"123"}, "installment": {"1"}})
	toBank, fields := pageForm(t, page)
	page = post(toBank, fields) // the ACS's code page
	answer, fields := pageForm(t, page)
	fields.Set("code", sandbox.ThreeDSCode)
	ans, _ := url.Parse(toBank)
	at, _ := ans.Parse(answer)
	page = post(at.String(), fields) // the ACS's form back to the gateway
	back, fields := pageForm(t, page)
	return string(post(back, fields))
}

var (
	formActionRE  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	hiddenFieldRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// pageForm reads a page's form: its action and hidden fields.
func pageForm(t *testing.T, page []byte) (string, url.Values) {
	t.Helper()
	m := formActionRE.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no form:\n%s", page)
	}
	fields := url.Values{}
	for _, f := range hiddenFieldRE.FindAllSubmatch(page, -1) {
		fields.Set(string(f[1]), html.UnescapeString(string(f[2])))
	}
	return html.UnescapeString(string(m[1])), fields
}
