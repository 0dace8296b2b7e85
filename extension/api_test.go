package extension_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/provider"
)

// apiCase is one Akinon call against an order brought to a state first.
type apiCase struct {
	name   string
	state  string // see mustOrderIn
	path   string
	body   func(order string) string
	opts   []reqOption
	status int
	code   string   // the first error's code; "" for a success
	fields []string // the fields the errors name, in order
}

// Request bodies of the table; each call has its own guid ("call-…"),
// apart from the guids of the setup.
func startReq(edits ...edit) func(string) string {
	return func(o string) string { return body(startBody(o, "call-"+o, "100.00"), edits...) }
}
func purchaseReq(edits ...edit) func(string) string {
	return func(o string) string { return body(opBody(o, "call-"+o), edits...) }
}
func voidReq(edits ...edit) func(string) string {
	return func(o string) string { return body(opBody(o, "call-"+o), edits...) }
}
func refundReq(amount string, edits ...edit) func(string) string {
	return func(o string) string { return body(refundBody(o, "call-"+o, amount), edits...) }
}
func historyReq(edits ...edit) func(string) string {
	return func(o string) string { return body(opBody(o, "call-"+o), edits...) }
}
func rawReq(s string) func(string) string { return func(string) string { return s } }

// swap rewrites the first old in a built body to new: for what body()
// cannot write, such as a name in other case or bytes that are not UTF-8.
func swap(f func(string) string, old, new string) func(string) string {
	return func(o string) string {
		b := f(o)
		if !strings.Contains(b, old) {
			panic(fmt.Sprintf("swap: %q is not in %s", old, b))
		}
		return strings.Replace(b, old, new, 1)
	}
}

// padded is a valid start-session body of exactly n bytes.
func padded(n int) func(string) string {
	return func(o string) string {
		b := startBody(o, "call-"+o, "100.00")
		b["pad"] = ""
		short := len(body(b))
		b["pad"] = strings.Repeat("x", n-short)
		return body(b)
	}
}

func apiCases() []apiCase {
	const (
		ok    = http.StatusOK
		bad   = http.StatusBadRequest
		auth  = http.StatusUnauthorized
		nf    = http.StatusNotFound
		rule  = http.StatusUnprocessableEntity
		media = http.StatusUnsupportedMediaType
	)
	cases := []apiCase{
		// start-session
		{"start/success", "none", "/start-session", startReq(), nil, ok, "", nil},
		{"start/AUTH in English without optional fields", "none", "/start-session", startReq(set("type", "AUTH"), set("locale", "en"),
			del("version"), del("clientIp"), del("customer.phoneNumber"), del("customer.clientIp")), nil, ok, "", nil},
		{"start/optional fields null", "none", "/start-session", startReq(set("version", nil), set("clientIp", nil), set("targetProvider", nil),
			set("customer.phoneNumber", nil), set("customer.clientIp", nil)), nil, ok, "", nil},
		{"start/one decimal", "none", "/start-session", startReq(set("orderAmount", number("100.5"))), nil, ok, "", nil},
		{"start/targetProvider sandbox", "none", "/start-session", startReq(set("targetProvider", "sandbox")), nil, ok, "", nil},
		{"start/malformed JSON", "none", "/start-session", rawReq(`{"guid":`), nil, bad, "malformed_json", []string{""}},
		{"start/empty body", "none", "/start-session", rawReq(``), nil, bad, "malformed_json", []string{""}},
		{"start/trailing garbage", "none", "/start-session", rawReq(`{"guid":"g"} x`), nil, bad, "malformed_json", []string{""}},
		{"start/amount as a string", "none", "/start-session", startReq(set("orderAmount", "100.00")), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"start/guid as a number", "none", "/start-session", startReq(set("guid", 12)), nil, bad, "invalid_field", []string{"guid"}},
		{"start/customer as a string", "none", "/start-session", startReq(set("customer", "Ayşe")), nil, bad, "invalid_field", []string{"customer"}},
		{"start/customer.email as a number", "none", "/start-session", startReq(set("customer.email", 5)), nil, bad, "invalid_field", []string{"customer.email"}},
		{"start/three decimals", "none", "/start-session", startReq(set("orderAmount", number("100.505"))), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"start/zero", "none", "/start-session", startReq(set("orderAmount", number("0"))), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"start/zero with decimals", "none", "/start-session", startReq(set("orderAmount", number("0.00"))), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"start/negative", "none", "/start-session", startReq(set("orderAmount", number("-5.00"))), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"start/exponent", "none", "/start-session", startReq(set("orderAmount", number("1e2"))), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"start/absurd amount", "none", "/start-session", startReq(set("orderAmount", number("1000000000000000000000"))), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"start/null amount", "none", "/start-session", startReq(set("orderAmount", nil)), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"start/unknown type", "none", "/start-session", startReq(set("type", "CREDIT")), nil, bad, "invalid_field", []string{"type"}},
		{"start/unknown currency", "none", "/start-session", startReq(set("currency", "TL")), nil, bad, "invalid_field", []string{"currency"}},
		{"start/bad email", "none", "/start-session", startReq(set("customer.email", "not-an-email")), nil, bad, "invalid_field", []string{"customer.email"}},
		{"start/bad locale", "none", "/start-session", startReq(set("locale", "??")), nil, bad, "invalid_field", []string{"locale"}},
		{"start/http returnUrl outside DEV_MODE", "none", "/start-session", startReq(set("returnUrl", "http://shop.example/r")), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/relative returnUrl", "none", "/start-session", startReq(set("returnUrl", "/orders/return")), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/javascript returnUrl", "none", "/start-session", startReq(set("returnUrl", "javascript:alert(1)")), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/unknown targetProvider", "none", "/start-session", startReq(set("targetProvider", "acme-bank")), nil, bad, "invalid_field", []string{"targetProvider"}},
		{"start/bad clientIp", "none", "/start-session", startReq(set("clientIp", "not-an-ip")), nil, bad, "invalid_field", []string{"clientIp"}},
		{"start/guid with a newline", "none", "/start-session", startReq(set("guid", "g\n1")), nil, bad, "invalid_field", []string{"guid"}},
		{"start/every error at once", "none", "/start-session", startReq(del("guid"), set("customer.email", "x"), set("orderAmount", number("1.001"))), nil, bad, "invalid_field",
			[]string{"guid", "customer.email", "orderAmount"}},
		{"start/an unknown field is ignored", "none", "/start-session", startReq(set("giftNote", "for Ayşe")), nil, ok, "", nil},
		{"start/orderId in capitals", "none", "/start-session", swap(startReq(), `"orderId":`, `"ORDERID":`), nil, bad, "invalid_field", []string{"orderId"}},
		{"start/OrderId", "none", "/start-session", swap(startReq(), `"orderId":`, `"OrderId":`), nil, bad, "invalid_field", []string{"orderId"}},
		{"start/customer.FirstName", "none", "/start-session", swap(startReq(), `"firstName":`, `"FirstName":`), nil, bad, "invalid_field", []string{"customer.firstName"}},
		{"start/orderId twice", "none", "/start-session", swap(startReq(), `"orderId":`, `"orderId":"x","orderId":`), nil, bad, "invalid_field", []string{"orderId"}},
		{"start/orderId not UTF-8", "none", "/start-session", swap(startReq(), `"orderId":"`, "\"orderId\":\"\xff"), nil, bad, "invalid_field", []string{"orderId"}},
		{"start/orderId with a lone surrogate", "none", "/start-session", swap(startReq(), `"orderId":"`, `"orderId":"\ud800`), nil, bad, "invalid_field", []string{"orderId"}},
		{"start/customer.firstName not UTF-8", "none", "/start-session", swap(startReq(), `"firstName":"`, "\"firstName\":\"\xc3"), nil, bad, "invalid_field", []string{"customer.firstName"}},
		{"start/an unknown field not UTF-8", "none", "/start-session", swap(startReq(set("giftNote", "x")), `"giftNote":"x"`, "\"giftNote\":\"\xfe\""), nil, bad, "invalid_field", []string{"giftNote"}},
		{"start/a name not UTF-8", "none", "/start-session", swap(startReq(), `"locale":`, "\"lo\xffcale\":"), nil, bad, "malformed_json", []string{""}},
		{"start/body of exactly 64 KiB", "none", "/start-session", padded(64 << 10), nil, ok, "", nil},
		{"start/body over 64 KiB", "none", "/start-session", padded(64<<10 + 1), nil, http.StatusRequestEntityTooLarge, "body_too_large", []string{""}},
		{"start/no credentials", "none", "/start-session", startReq(), []reqOption{withoutAuth()}, auth, "unauthorized", []string{""}},
		{"start/wrong password", "none", "/start-session", startReq(), []reqOption{withAuth(testUser, "wrong")}, auth, "unauthorized", []string{""}},
		{"start/wrong username", "none", "/start-session", startReq(), []reqOption{withAuth("someone", testPassword)}, auth, "unauthorized", []string{""}},
		{"start/empty credentials", "none", "/start-session", startReq(), []reqOption{withAuth("", "")}, auth, "unauthorized", []string{""}},
		{"start/Basic without base64", "none", "/start-session", startReq(), []reqOption{withHeader("Authorization", "Basic !!!not-base64")}, auth, "unauthorized", []string{""}},
		{"start/Basic without its space", "none", "/start-session", startReq(), []reqOption{withHeader("Authorization", "Basic0YWtpbm9uLWd3OnRlc3QtcGFzc3dvcmQtMDEyMw==")}, auth, "unauthorized", []string{""}},
		// The same credentials with bits after the last character set:
		// base64 that decodes, but not as RFC 4648 writes it.
		{"start/Basic with stray bits", "none", "/start-session", startReq(), []reqOption{withHeader("Authorization", "Basic YWtpbm9uLWd3OnRlc3QtcGFzc3dvcmQtMDEyM0==")}, auth, "unauthorized", []string{""}},
		{"start/basic in lower case", "none", "/start-session", startReq(), []reqOption{withHeader("Authorization", "basic YWtpbm9uLWd3OnRlc3QtcGFzc3dvcmQtMDEyMw==")}, ok, "", nil},
		{"start/Bearer token", "none", "/start-session", startReq(), []reqOption{withHeader("Authorization", "Bearer abc")}, auth, "unauthorized", []string{""}},
		{"start/Content-Type with a charset", "none", "/start-session", startReq(), []reqOption{withHeader("Content-Type", "application/json; charset=utf-8")}, ok, "", nil},
		{"start/Content-Type in capitals", "none", "/start-session", startReq(), []reqOption{withHeader("Content-Type", "Application/JSON")}, ok, "", nil},
		{"start/no Content-Type", "none", "/start-session", startReq(), []reqOption{withoutHeader("Content-Type")}, media, "unsupported_media_type", []string{""}},
		{"start/text/plain", "none", "/start-session", startReq(), []reqOption{withHeader("Content-Type", "text/plain")}, media, "unsupported_media_type", []string{""}},
		{"start/no Content-Type nor credentials", "none", "/start-session", startReq(), []reqOption{withoutHeader("Content-Type"), withoutAuth()}, auth, "unauthorized", []string{""}},
		{"start/returnUrl on an allowed host", "none", "/start-session", startReq(), []reqOption{withAuth("other-shop", "other-password-0123")}, ok, "", nil},
		{"start/returnUrl on another host", "none", "/start-session", startReq(set("returnUrl", "https://evil.example/r")), []reqOption{withAuth("other-shop", "other-password-0123")}, bad, "invalid_field", []string{"returnUrl"}},
		{"start/returnUrl on a look-alike host", "none", "/start-session", startReq(set("returnUrl", "https://shop.example.evil.example/r")), []reqOption{withAuth("other-shop", "other-password-0123")}, bad, "invalid_field", []string{"returnUrl"}},
		{"start/returnUrl host with a semicolon", "none", "/start-session", startReq(set("returnUrl", "https://shop.example;script-src/r")), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/returnUrl host with a comma", "none", "/start-session", startReq(set("returnUrl", "https://shop.example,evil.example/r")), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/returnUrl host with a quote", "none", "/start-session", startReq(set("returnUrl", `https://shop"x.example/r`)), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/returnUrl host with angle brackets", "none", "/start-session", startReq(set("returnUrl", "https://shop<b>.example/r")), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/returnUrl host with a space", "none", "/start-session", startReq(set("returnUrl", "https://shop example/r")), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/returnUrl on IPv6", "none", "/start-session", startReq(set("returnUrl", "https://[2001:db8::1]/r")), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/returnUrl on IPv4", "none", "/start-session", startReq(set("returnUrl", "https://203.0.113.9/r")), nil, ok, "", nil},
		{"start/returnUrl in Unicode", "none", "/start-session", startReq(set("returnUrl", "https://çiçek.example/r")), nil, ok, "", nil},
		{"start/returnUrl with credentials", "none", "/start-session", startReq(set("returnUrl", "https://user:pw@shop.example/r")), nil, bad, "invalid_field", []string{"returnUrl"}},
		{"start/over an unpaid session", "started", "/start-session", startReq(), nil, ok, "", nil},
		{"start/after a declined payment", "rejected", "/start-session", startReq(), nil, ok, "", nil},
		{"start/on a paid order", "paid", "/start-session", startReq(), nil, rule, "order_already_paid", []string{""}},
		{"start/on a purchased order", "purchased", "/start-session", startReq(), nil, rule, "order_already_paid", []string{""}},
		{"start/on a voided order", "voided", "/start-session", startReq(), nil, rule, "session_voided", []string{""}},

		// purchase
		{"purchase/SALE", "paid", "/purchase", purchaseReq(), nil, ok, "", nil},
		{"purchase/AUTH with orderAmount null", "paid-auth", "/purchase", purchaseReq(set("orderAmount", nil)), nil, ok, "", nil},
		{"purchase/SALE ignores orderAmount", "paid", "/purchase", purchaseReq(set("orderAmount", number("5000.00"))), nil, ok, "", nil},
		{"purchase/AUTH in full", "paid-auth", "/purchase", purchaseReq(), nil, ok, "", nil},
		{"purchase/AUTH in part", "paid-auth", "/purchase", purchaseReq(set("orderAmount", number("60.00"))), nil, ok, "", nil},
		{"purchase/AUTH above the authorisation", "paid-auth", "/purchase", purchaseReq(set("orderAmount", number("100.01"))), nil, rule, "amount_exceeds_authorised", []string{"orderAmount"}},
		{"purchase/amount as a string", "paid-auth", "/purchase", purchaseReq(set("orderAmount", "60.00")), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"purchase/three decimals", "paid-auth", "/purchase", purchaseReq(set("orderAmount", number("60.001"))), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"purchase/zero", "paid-auth", "/purchase", purchaseReq(set("orderAmount", number("0"))), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"purchase/negative", "paid-auth", "/purchase", purchaseReq(set("orderAmount", number("-1"))), nil, bad, "invalid_field", []string{"orderAmount"}},
		{"purchase/malformed JSON", "paid", "/purchase", rawReq(`{"guid":"x",}`), nil, bad, "malformed_json", []string{""}},
		{"purchase/missing guid", "paid", "/purchase", purchaseReq(del("guid")), nil, bad, "invalid_field", []string{"guid"}},
		{"purchase/missing orderId", "paid", "/purchase", purchaseReq(del("orderId")), nil, bad, "invalid_field", []string{"orderId"}},
		{"purchase/orderId as a number", "paid", "/purchase", purchaseReq(set("orderId", 7)), nil, bad, "invalid_field", []string{"orderId"}},
		{"purchase/GUID", "paid", "/purchase", swap(purchaseReq(), `"guid":`, `"GUID":`), nil, bad, "invalid_field", []string{"guid"}},
		{"purchase/a form", "paid", "/purchase", purchaseReq(), []reqOption{withHeader("Content-Type", "application/x-www-form-urlencoded")}, media, "unsupported_media_type", []string{""}},
		{"purchase/no credentials", "paid", "/purchase", purchaseReq(), []reqOption{withoutAuth()}, auth, "unauthorized", []string{""}},
		{"purchase/unknown order", "none", "/purchase", purchaseReq(), nil, nf, "order_not_found", []string{"orderId"}},
		{"purchase/before payment", "started", "/purchase", purchaseReq(), nil, rule, "session_not_paid", []string{""}},
		{"purchase/twice", "purchased", "/purchase", purchaseReq(), nil, rule, "already_purchased", []string{""}},
		{"purchase/after a refund", "refunded", "/purchase", purchaseReq(), nil, rule, "already_purchased", []string{""}},
		{"purchase/after void", "voided", "/purchase", purchaseReq(), nil, rule, "session_voided", []string{""}},
		{"purchase/declined payment", "rejected", "/purchase", purchaseReq(), nil, rule, "session_rejected", []string{""}},

		// void
		{"void/authorisation", "paid", "/void", voidReq(), nil, ok, "", nil},
		{"void/purchase without refunds", "purchased", "/void", voidReq(), nil, ok, "", nil},
		{"void/after refund", "refunded", "/void", voidReq(), nil, rule, "refunds_exist", []string{""}},
		{"void/twice", "voided", "/void", voidReq(), nil, rule, "session_voided", []string{""}},
		{"void/before payment", "started", "/void", voidReq(), nil, rule, "session_not_paid", []string{""}},
		{"void/declined payment", "rejected", "/void", voidReq(), nil, rule, "session_rejected", []string{""}},
		{"void/unknown order", "none", "/void", voidReq(), nil, nf, "order_not_found", []string{"orderId"}},
		{"void/malformed JSON", "paid", "/void", rawReq(`nope`), nil, bad, "malformed_json", []string{""}},
		{"void/missing guid", "paid", "/void", voidReq(del("guid")), nil, bad, "invalid_field", []string{"guid"}},
		{"void/missing orderId", "paid", "/void", voidReq(del("orderId")), nil, bad, "invalid_field", []string{"orderId"}},
		{"void/orderid", "paid", "/void", swap(voidReq(), `"orderId":`, `"orderid":`), nil, bad, "invalid_field", []string{"orderId"}},
		{"void/a JSON patch", "paid", "/void", voidReq(), []reqOption{withHeader("Content-Type", "application/json-patch+json")}, media, "unsupported_media_type", []string{""}},
		{"void/wrong password", "paid", "/void", voidReq(), []reqOption{withAuth(testUser, "x")}, auth, "unauthorized", []string{""}},

		// refund
		{"refund/part", "purchased", "/refund", refundReq("30.00"), nil, ok, "", nil},
		{"refund/all", "purchased", "/refund", refundReq("100.00"), nil, ok, "", nil},
		{"refund/the rest", "refunded", "/refund", refundReq("70.00"), nil, ok, "", nil},
		{"refund/one decimal", "purchased", "/refund", refundReq("0.5"), nil, ok, "", nil},
		{"refund/before purchase", "paid", "/refund", refundReq("10.00"), nil, rule, "not_purchased", []string{""}},
		{"refund/before payment", "started", "/refund", refundReq("10.00"), nil, rule, "not_purchased", []string{""}},
		{"refund/above the balance", "purchased", "/refund", refundReq("100.01"), nil, rule, "amount_exceeds_balance", []string{"amount"}},
		{"refund/above what is left", "refunded", "/refund", refundReq("70.01"), nil, rule, "amount_exceeds_balance", []string{"amount"}},
		{"refund/another currency", "purchased", "/refund", refundReq("10.00", set("currency", "EUR")), nil, rule, "currency_mismatch", []string{"currency"}},
		{"refund/after void", "voided", "/refund", refundReq("10.00"), nil, rule, "session_voided", []string{""}},
		{"refund/declined payment", "rejected", "/refund", refundReq("10.00"), nil, rule, "session_rejected", []string{""}},
		{"refund/unknown order", "none", "/refund", refundReq("10.00"), nil, nf, "order_not_found", []string{"orderId"}},
		{"refund/amount as a string", "purchased", "/refund", refundReq("10.00", set("amount", "10.00")), nil, bad, "invalid_field", []string{"amount"}},
		{"refund/missing amount", "purchased", "/refund", refundReq("10.00", del("amount")), nil, bad, "invalid_field", []string{"amount"}},
		{"refund/three decimals", "purchased", "/refund", refundReq("10.005"), nil, bad, "invalid_field", []string{"amount"}},
		{"refund/zero", "purchased", "/refund", refundReq("0.00"), nil, bad, "invalid_field", []string{"amount"}},
		{"refund/negative", "purchased", "/refund", refundReq("-10.00"), nil, bad, "invalid_field", []string{"amount"}},
		{"refund/missing currency", "purchased", "/refund", refundReq("10.00", del("currency")), nil, bad, "invalid_field", []string{"currency"}},
		{"refund/unknown currency", "purchased", "/refund", refundReq("10.00", set("currency", "XYZ1")), nil, bad, "invalid_field", []string{"currency"}},
		{"refund/missing guid and orderId", "purchased", "/refund", refundReq("10.00", del("guid"), del("orderId")), nil, bad, "invalid_field", []string{"guid", "orderId"}},
		{"refund/malformed JSON", "purchased", "/refund", rawReq(`{"amount":10.00`), nil, bad, "malformed_json", []string{""}},
		{"refund/AMOUNT", "purchased", "/refund", swap(refundReq("10.00"), `"amount":`, `"AMOUNT":`), nil, bad, "invalid_field", []string{"amount"}},
		{"refund/currency not UTF-8", "purchased", "/refund", swap(refundReq("10.00"), `"currency":"`, "\"currency\":\"\x80"), nil, bad, "invalid_field", []string{"currency"}},
		{"refund/a broken Content-Type", "purchased", "/refund", refundReq("10.00"), []reqOption{withHeader("Content-Type", "application/json; charset")}, media, "unsupported_media_type", []string{""}},
		{"refund/no credentials", "purchased", "/refund", refundReq("10.00"), []reqOption{withoutAuth()}, auth, "unauthorized", []string{""}},

		// history
		{"history/started", "started", "/history", historyReq(), nil, ok, "", nil},
		{"history/refunded", "refunded", "/history", historyReq(), nil, ok, "", nil},
		{"history/filtered by type", "refunded", "/history", historyReq(set("type", "REFUND")), nil, ok, "", nil},
		{"history/filters null", "refunded", "/history", historyReq(set("type", nil), set("transactionId", nil), set("status", nil), set("subStatus", nil)), nil, ok, "", nil},
		{"history/filtered by status", "rejected", "/history", historyReq(set("status", "RESOLVED")), nil, ok, "", nil},
		{"history/voided", "voided", "/history", historyReq(), nil, ok, "", nil},
		{"history/unknown order", "none", "/history", historyReq(), nil, nf, "order_not_found", []string{"orderId"}},
		{"history/unknown type filter", "started", "/history", historyReq(set("type", "CAPTURE")), nil, bad, "invalid_field", []string{"type"}},
		{"history/unknown status filter", "started", "/history", historyReq(set("status", "DONE")), nil, bad, "invalid_field", []string{"status"}},
		{"history/unknown subStatus filter", "started", "/history", historyReq(set("subStatus", "OK")), nil, bad, "invalid_field", []string{"subStatus"}},
		{"history/missing guid", "started", "/history", historyReq(del("guid")), nil, bad, "invalid_field", []string{"guid"}},
		{"history/missing orderId", "started", "/history", historyReq(del("orderId")), nil, bad, "invalid_field", []string{"orderId"}},
		{"history/malformed JSON", "started", "/history", rawReq(`{{}}`), nil, bad, "malformed_json", []string{""}},
		{"history/Type filter", "started", "/history", historyReq(set("Type", "REFUND")), nil, bad, "invalid_field", []string{"type"}},
		{"history/text/json", "started", "/history", historyReq(), []reqOption{withHeader("Content-Type", "text/json")}, media, "unsupported_media_type", []string{""}},
		{"history/no credentials", "started", "/history", historyReq(), []reqOption{withoutAuth()}, auth, "unauthorized", []string{""}},

		// routing
		{"routing/unknown endpoint", "none", "/capture", purchaseReq(), []reqOption{offDocument()}, nf, "not_found", []string{""}},
	}
	return cases
}

var (
	slugRE      = regexp.MustCompile(`[^a-z0-9]+`)
	sessionIDRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)
)

// TestAkinonCalls runs every row: status, error code and fields, the
// contract's error body and headers, and the exact bytes of every answer
// against testdata/api.golden.
func TestAkinonCalls(t *testing.T) {
	g := mustGateway(t)
	var out bytes.Buffer
	for _, tt := range apiCases() {
		t.Run(tt.name, func(t *testing.T) {
			order := "o-" + strings.Trim(slugRE.ReplaceAllString(strings.ToLower(tt.name), "-"), "-")
			g.mustOrderIn(t, order, tt.state)
			opts := append([]reqOption{withHeader("x-akinon-request-id", "req-"+order)}, tt.opts...)
			r := g.call(t, tt.path, tt.body(order), opts...)

			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if got := r.Header.Get("x-akinon-request-id"); got != "req-"+order {
				t.Errorf("x-akinon-request-id = %q, want it echoed", got)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			if tt.code == "" {
				checkSuccess(t, tt.path, r)
			} else {
				e := checkErrorBody(t, r)
				if e.Errors[0].Code != tt.code {
					t.Errorf("code %q, want %q: %s", e.Errors[0].Code, tt.code, r.Body)
				}
				var fields []string
				for _, x := range e.Errors {
					fields = append(fields, x.Field)
				}
				if !slices.Equal(fields, tt.fields) {
					t.Errorf("fields %q, want %q: %s", fields, tt.fields, r.Body)
				}
				if tt.status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			}
			// Refusals of the state machine are stored like successes;
			// validation failures and auth are not.
			stored := r.Header.Get("Idempotency-Expires") != ""
			want := tt.status == http.StatusOK || tt.status == http.StatusUnprocessableEntity ||
				(tt.status == http.StatusNotFound && tt.path != "/capture")
			if stored != want {
				t.Errorf("Idempotency-Expires present = %v, want %v", stored, want)
			}
			normal := sessionIDRE.ReplaceAll(bytes.ReplaceAll(r.Body, []byte(g.URL), []byte("http://gateway.test")), []byte("<session>"))
			fmt.Fprintf(&out, "### %s\n%d %s\n\n", tt.name, r.Status, normal)
		})
	}
	if !t.Failed() {
		golden(t, "api.golden", out.Bytes())
	}
}

// checkErrorBody checks the contract's error body: exactly its four keys,
// each error exactly code, field and message.
func checkErrorBody(tb testing.TB, r *response) errorBody {
	tb.Helper()
	var keys map[string]json.RawMessage
	mustJSON(tb, r, &keys)
	if got := sortedKeys(keys); !slices.Equal(got, []string{"errors", "status", "subStatus", "transactionId"}) {
		tb.Errorf("error body keys %v: %s", got, r.Body)
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(keys["errors"], &list); err != nil || len(list) == 0 {
		tb.Fatalf("errors %s: %v", keys["errors"], err)
	}
	for _, e := range list {
		if got := sortedKeys(e); !slices.Equal(got, []string{"code", "field", "message"}) {
			tb.Errorf("error keys %v: %s", got, r.Body)
		}
	}
	var e errorBody
	mustJSON(tb, r, &e)
	for _, x := range e.Errors {
		if x.Message == "" {
			tb.Errorf("an error without a message: %s", r.Body)
		}
	}
	pair := e.Status + "/" + e.SubStatus
	if !slices.Contains([]string{"RESOLVED/RESOLVED", "REJECTED/PROCESSING_ERROR", "REJECTED/RISKY", "PENDING/PAYMENT_WAITING"}, pair) {
		tb.Errorf("error body state %s is not a contract pair", pair)
	}
	return e
}

func checkSuccess(tb testing.TB, path string, r *response) {
	tb.Helper()
	var keys map[string]json.RawMessage
	mustJSON(tb, r, &keys)
	want := map[string][]string{
		"/start-session": {"redirectMethod", "redirectUrl", "sessionId", "transactionId", "type"},
		"/purchase":      {"status", "subStatus", "transactionId"},
		"/void":          {"status", "subStatus", "transactionId"},
		"/refund":        {"status", "subStatus", "transactionId"},
		"/history":       {"balance", "currency", "lastAction", "paymentTransactionHistory", "status", "substatus"},
	}[path]
	if got := sortedKeys(keys); !slices.Equal(got, want) {
		tb.Errorf("%s answer keys %v, want %v", path, got, want)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestHealthAndRouting(t *testing.T) {
	g := mustGateway(t)
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/healthz", http.StatusOK, ""},
		{http.MethodGet, "/readyz", http.StatusOK, ""},
		{http.MethodPost, "/nowhere", http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, g.URL+tt.path, nil)
		req.SetBasicAuth(testUser, testPassword)
		if tt.code == "not_found" {
			offDocument()(req)
		}
		r := do(t, http.DefaultClient, req)
		if r.Status != tt.status {
			t.Errorf("%s %s: %s", tt.method, tt.path, r)
			continue
		}
		if tt.code != "" {
			if e := checkErrorBody(t, r); e.Errors[0].Code != tt.code {
				t.Errorf("%s %s: %+v", tt.method, tt.path, e.Errors)
			}
		}
	}
}

// TestStatusOfEveryCode: the one table from codes to statuses, as the
// contract sorts them: by status, each with its codes.
func TestStatusOfEveryCode(t *testing.T) {
	want := []struct {
		status int
		codes  []provider.Code
	}{
		{http.StatusBadRequest, []provider.Code{provider.CodeMalformedJSON, provider.CodeInvalidField}},
		{http.StatusRequestEntityTooLarge, []provider.Code{provider.CodeBodyTooLarge}},
		{http.StatusUnsupportedMediaType, []provider.Code{provider.CodeUnsupportedMediaType}},
		{http.StatusUnauthorized, []provider.Code{provider.CodeUnauthorized}},
		{http.StatusNotFound, []provider.Code{provider.CodeOrderNotFound}},
		{http.StatusConflict, []provider.Code{provider.CodeRequestInProgress, provider.CodeOperationInProgress}},
		{http.StatusUnprocessableEntity, []provider.Code{provider.CodeIdempotencyReused, provider.CodeOrderAlreadyPaid,
			provider.CodePaymentInProgress, provider.CodeSessionNotPaid, provider.CodeSessionExpired, provider.CodeSessionRejected,
			provider.CodeSessionVoided, provider.CodeAlreadyPurchased, provider.CodeNotPurchased, provider.CodeRefundsExist,
			provider.CodeAmountExceedsAuth, provider.CodeAmountExceedsBalance, provider.CodeCurrencyMismatch}},
		{http.StatusServiceUnavailable, []provider.Code{provider.CodeStoreUnavailable}},
		{http.StatusInternalServerError, []provider.Code{provider.CodeInternal, "no_such_code"}},
	}
	for _, w := range want {
		for _, code := range w.codes {
			if got := extension.HTTPStatus(code); got != w.status {
				t.Errorf("HTTPStatus(%s) = %d, want %d", code, got, w.status)
			}
		}
	}
}
