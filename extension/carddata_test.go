package extension_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// typed is a card as a shopper typed it: the values that must never be
// kept nor logged.
type typed struct {
	number, expiry, cvc string
}

// secrets are the strings that give a card away: the number as typed and
// as digits, and the expiry.
func (c typed) secrets() []string {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(c.number)
	mm, yy, _ := strings.Cut(c.expiry, "/")
	return []string{c.number, digits, c.expiry, mm + "/20" + yy}
}

// cardKeys are names under which card data would be kept.
var cardKeys = []string{"cvc", "cvv", "cardnumber", "pan", "expiry", "expmonth", "expyear", "securitycode"}

// TestNoCardDataAtRest pays with many cards, refused forms included, then
// reads every key the gateway wrote and every log line it made: no card
// number, expiry or cvc anywhere, while BIN and last four are there.
func TestNoCardDataAtRest(t *testing.T) {
	g := mustGateway(t)
	cards := []struct {
		typed
		installment, code string
	}{
		{typed{"4242 4242 4242 4242", "07/37", "739"}, "1", ""},
		{typed{"5528-7900-0000-0008", "08/36", "4821"}, "3", ""},
		{typed{"4000002760003184", "09/35", "562"}, "1", sandbox.ThreeDSCode},
		{typed{"4000000000000002", "10/34", "918"}, "1", ""},
		{typed{"4100000000000019", "11/33", "347"}, "1", ""},
		{typed{"4000000000000119", "12/32", "285"}, "1", ""},
		{typed{"4000000000009235", "01/31", "694"}, "1", ""},
		{typed{"4000000000005126", "02/30", "5173"}, "1", ""},
	}
	refused := []typed{
		{"4242424242424241", "05/36", "17"},    // Luhn and cvc
		{"4242424242424242", "01/20", "831"},   // expired
		{"5105105105105100", "13/29", "90210"}, // month and cvc
	}
	var all []typed
	for i, c := range cards {
		order := fmt.Sprint("o-card-", i)
		s := g.mustStart(t, order)
		b := newBrowser(t)
		// A refused form first, on some of the sessions.
		if i < len(refused) {
			r := refused[i]
			page := b.get(t, s.RedirectURL)
			resp := b.post(t, s.RedirectURL, url.Values{"_csrf": {hidden(page.Body)["_csrf"]}, "cardHolder": {"Ayşe"},
				"cardNumber": {r.number}, "expiry": {r.expiry}, "cvc": {r.cvc}, "installment": {"1"}})
			if resp.Status != http.StatusUnprocessableEntity {
				t.Fatalf("a refused form: %d", resp.Status)
			}
			checkPage(t, resp.Body, r)
			all = append(all, r)
		}
		page := b.get(t, s.RedirectURL)
		resp := b.post(t, s.RedirectURL, url.Values{"_csrf": {hidden(page.Body)["_csrf"]}, "cardHolder": {"Ayşe Yılmaz"},
			"cardNumber": {c.number}, "expiry": {c.expiry}, "cvc": {c.cvc}, "installment": {c.installment}})
		checkPage(t, resp.Body, c.typed)
		if c.code != "" {
			trip := b.toBank(t, g, resp, c.code)
			resp = trip.back(t, trip.Back)
		}
		_, f := returned(t, resp)
		if f["status"] == "RESOLVED" {
			g.mustOperate(t, "/purchase", body(opBody(order, "p-"+order)), "RESOLVED")
			g.call(t, "/refund", body(refundBody(order, "r-"+order, "10.00")))
		}
		g.mustHistory(t, order)
		all = append(all, c.typed)
	}

	ctx := context.Background()
	values := map[string][]string{} // key → everything stored under it
	iter := g.rdb.Scan(ctx, 0, g.prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		values[key] = readKey(t, g.rdb, key)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(values) < 3*len(cards) {
		t.Fatalf("only %d keys under %s: the scan sees too little to prove anything", len(values), g.prefix)
	}
	sawBIN := false
	for key, vals := range values {
		checkText(t, "Redis key "+key, key, all)
		for _, v := range vals {
			checkText(t, "Redis key "+key, v, all)
			sawBIN = sawBIN || v == "424242"
		}
	}
	if !sawBIN {
		t.Errorf("no BIN 424242 stored anywhere: is this the gateway's data?")
	}

	entries := g.logs.All()
	sawCardLine := false
	for _, e := range entries {
		where := "log line " + e.Message
		checkText(t, where, e.Message, all)
		ctxMap := e.ContextMap()
		raw, _ := json.Marshal(ctxMap)
		checkText(t, where, string(raw), all)
		for k, v := range ctxMap {
			checkText(t, where, k, all)
			checkText(t, where, fmt.Sprint(v), all)
		}
		if e.Message == "card payment" && ctxMap["bin"] != "" {
			sawCardLine = true
		}
	}
	if !sawCardLine || len(entries) < 20 {
		t.Errorf("%d log lines, card payment line seen: %v: the logs were not captured", len(entries), sawCardLine)
	}
}

// readKey returns every string stored under a key, whatever its type.
func readKey(tb testing.TB, rdb *redis.Client, key string) []string {
	tb.Helper()
	ctx := context.Background()
	typ, err := rdb.Type(ctx, key).Result()
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	switch typ {
	case "string":
		out = []string{rdb.Get(ctx, key).Val()}
	case "hash":
		for k, v := range rdb.HGetAll(ctx, key).Val() {
			out = append(out, k, v)
		}
	case "list":
		out = rdb.LRange(ctx, key, 0, -1).Val()
	case "set":
		out = rdb.SMembers(ctx, key).Val()
	case "zset":
		for _, z := range rdb.ZRangeWithScores(ctx, key, 0, -1).Val() {
			out = append(out, fmt.Sprint(z.Member), fmt.Sprint(z.Score))
		}
	case "stream":
		for _, m := range rdb.XRange(ctx, key, "-", "+").Val() {
			for k, v := range m.Values {
				out = append(out, k, fmt.Sprint(v))
			}
		}
	case "none":
	default:
		tb.Fatalf("key %s has type %s, which the scan cannot read", key, typ)
	}
	return out
}

// checkText fails if s gives away any of the cards: a number or expiry
// anywhere in it, a cvc as the whole value or as a JSON string, or a
// field named for card data.
func checkText(tb testing.TB, where, s string, cards []typed) {
	tb.Helper()
	for _, c := range cards {
		for _, secret := range c.secrets() {
			if strings.Contains(s, secret) {
				tb.Errorf("%s holds %q", where, secret)
			}
		}
		if s == c.cvc || strings.Contains(s, `"`+c.cvc+`"`) {
			tb.Errorf("%s holds the cvc %s: %s", where, c.cvc, s)
		}
	}
	lower := strings.ToLower(s)
	for _, k := range cardKeys {
		if strings.Contains(lower, `"`+k+`"`) || lower == k {
			tb.Errorf("%s has a field named %s: %s", where, k, s)
		}
	}
}

// checkPage fails if a page shows back what the shopper typed.
func checkPage(tb testing.TB, page []byte, c typed) {
	tb.Helper()
	for _, secret := range c.secrets() {
		if strings.Contains(string(page), secret) {
			tb.Errorf("the page shows %q back", secret)
		}
	}
	if m := refilledRE.Find(page); m != nil {
		tb.Errorf("the page fills a card field back in: %s", m)
	}
}

var refilledRE = regexp.MustCompile(`name="(cardNumber|expiry|cvc)"[^>]*value=`)
