package extension_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/akinon-gateway/gateway/idempotency"
	"github.com/akinon-gateway/gateway/provider"
)

// TestReplayIsByteIdentical sends each call twice, the second time
// written differently but meaning the same; the second answer is the
// first's bytes, marked replayed, and the processor is not called again.
func TestReplayIsByteIdentical(t *testing.T) {
	g := mustGateway(t)
	tests := []struct {
		name, state, path string
		first, again      string
		processor         string // the processor method the call uses
	}{
		{"start-session", "none", "/start-session",
			body(startBody("o-start", "g-start", "100.50")),
			strings.Replace(body(startBody("o-start", "g-start", "100.5")), `{`, "{\n  ", 1), ""},
		{"purchase", "paid", "/purchase",
			`{"version":"1.0","guid":"g-purchase","orderId":"o-purchase"}`,
			`{ "orderId" : "o-purchase", "guid":"g-purchase", "version":"1.0" }`, "Capture"},
		{"void", "paid", "/void",
			`{"version":"1.0","guid":"g-void","orderId":"o-void"}`,
			"{\"orderId\":\"o-void\",\n\"version\":\"1.0\",\t\"guid\":\"g-void\"}", "Void"},
		{"refund", "purchased", "/refund",
			`{"version":"1.0","guid":"g-refund","orderId":"o-refund","amount":10.5,"currency":"TRY"}`,
			`{"currency":"TRY","amount":10.50,"orderId":"o-refund","guid":"g-refund","version":"1.0"}`, "Refund"},
		{"history", "purchased", "/history",
			`{"version":"1.0","guid":"g-history","orderId":"o-history"}`,
			`{"guid":"g-history","orderId":"o-history","version":"1.0"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order := "o-" + tt.name
			if tt.name == "start-session" {
				order = "o-start"
			}
			g.mustOrderIn(t, order, tt.state)
			before := 0
			if tt.processor != "" {
				before = g.bank.Calls(tt.processor)
			}
			first := g.call(t, tt.path, tt.first)
			if first.Status != http.StatusOK || first.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first: %s %v", first, first.Header)
			}
			for i := range 3 {
				again := g.call(t, tt.path, tt.again)
				if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
					t.Fatalf("replay %d: %s\nfirst: %s", i, again, first)
				}
				if again.Header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("replay %d without Idempotent-Replayed: true", i)
				}
				if e := again.Header.Get("Idempotency-Expires"); e == "" || e != first.Header.Get("Idempotency-Expires") {
					t.Errorf("Idempotency-Expires %q on replay, %q first", e, first.Header.Get("Idempotency-Expires"))
				}
			}
			if tt.processor != "" {
				if n := g.bank.Calls(tt.processor) - before; n != 1 {
					t.Errorf("processor %s called %d times for one guid", tt.processor, n)
				}
			}
		})
	}
}

// TestGuidReused: one guid, another request: 422 idempotency_key_reused.
func TestGuidReused(t *testing.T) {
	g := mustGateway(t)
	g.mustOrderIn(t, "o-reuse", "purchased")
	g.mustOrderIn(t, "o-reuse-2", "purchased")
	first := body(refundBody("o-reuse", "g-used", "10.00"))
	if r := g.call(t, "/refund", first); r.Status != http.StatusOK {
		t.Fatalf("first refund: %s", r)
	}
	tests := []struct {
		name, path, body string
	}{
		{"another amount", "/refund", body(refundBody("o-reuse", "g-used", "10.01"))},
		{"another currency", "/refund", body(refundBody("o-reuse", "g-used", "10.00"), set("currency", "EUR"))},
		{"a field more", "/refund", body(refundBody("o-reuse", "g-used", "10.00"), set("note", "x"))},
		{"another order", "/refund", body(refundBody("o-reuse-2", "g-used", "10.00"))},
		{"another endpoint", "/history", body(opBody("o-reuse", "g-used"))},
		{"another endpoint, same body", "/void", first},
		{"start-session", "/start-session", body(startBody("o-new", "g-used", "10.00"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.call(t, tt.path, tt.body)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			e := checkErrorBody(t, r)
			if e.Errors[0].Code != "idempotency_key_reused" || e.Errors[0].Field != "guid" {
				t.Fatalf("error %+v", e.Errors)
			}
			if r.Header.Get("Idempotent-Replayed") != "" {
				t.Errorf("a reuse is not a replay")
			}
		})
	}
	if n := g.bank.Calls("Refund"); n != 1 {
		t.Errorf("the processor refunded %d times", n)
	}
	// The original still replays.
	if r := g.call(t, "/refund", first); r.Status != http.StatusOK || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the original after reuses: %s", r)
	}
}

// TestAFinishedGuidWithAnInvalidBody: a replay is answered before its
// body is decoded and checked (its body was, when first answered), yet
// the same guid with a body that breaks a rule, or that the strict
// decoding refuses, is still a 400 naming the field, not a reuse, and
// changes nothing: the original still replays.
func TestAFinishedGuidWithAnInvalidBody(t *testing.T) {
	g := mustGateway(t)
	g.mustOrderIn(t, "o-invalid", "none")
	first := body(startBody("o-invalid", "g-invalid", "10.00"))
	r := g.call(t, "/start-session", first)
	if r.Status != http.StatusOK {
		t.Fatalf("first: %s", r)
	}
	if again := g.call(t, "/start-session", first); again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, r.Body) {
		t.Fatalf("replay: %s", again)
	}
	tests := []struct{ name, field, body string }{
		{"bad email", "customer.email", body(startBody("o-invalid", "g-invalid", "10.00"), set("customer.email", "not-an-email"))},
		{"bad currency", "currency", body(startBody("o-invalid", "g-invalid", "10.00"), set("currency", "XX"))},
		{"a name in another case", "locale", body(startBody("o-invalid", "g-invalid", "10.00"), del("locale"), set("Locale", "tr"))},
		{"a string where an object is due", "customer", body(startBody("o-invalid", "g-invalid", "10.00"), set("customer", "A"))},
		{"a name twice", "locale", strings.Replace(first, `"locale":"tr"`, `"locale":"tr","locale":"tr"`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := g.call(t, "/start-session", tt.body)
			if bad.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", bad.Status, bad.Body)
			}
			if e := checkErrorBody(t, bad); e.Errors[0].Field != tt.field {
				t.Errorf("errors %+v, want one on %s", e.Errors, tt.field)
			}
		})
	}
	if again := g.call(t, "/start-session", first); again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, r.Body) {
		t.Fatalf("replay after the invalid ones: %s", again)
	}
}

// TestWhatIsNotStored: 400 and 401 leave the guid free; a rule's refusal
// is stored and replayed even after the order has moved on.
func TestWhatIsNotStored(t *testing.T) {
	g := mustGateway(t)
	g.mustOrderIn(t, "o-store", "paid")

	invalid := g.call(t, "/refund", body(refundBody("o-store", "g-400", "10.001")))
	if invalid.Status != http.StatusBadRequest || invalid.Header.Get("Idempotency-Expires") != "" {
		t.Fatalf("invalid refund: %s %v", invalid, invalid.Header)
	}
	denied := g.call(t, "/purchase", body(opBody("o-store", "g-401")), withAuth(testUser, "nope"))
	if denied.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %s", denied)
	}
	if r := g.call(t, "/purchase", body(opBody("o-store", "g-401"))); r.Status != http.StatusOK {
		t.Fatalf("the guid of a 401, sent right: %s", r)
	}
	// g-400 is free: the same guid with a valid body runs.
	if r := g.call(t, "/refund", body(refundBody("o-store", "g-400", "10.00"))); r.Status != http.StatusOK {
		t.Fatalf("the guid of a 400, sent right: %s", r)
	}

	// A refund before purchase was refused and stored: its guid answers the
	// same refusal later, when a new refund would be allowed.
	g.mustOrderIn(t, "o-early", "paid")
	early := g.call(t, "/refund", body(refundBody("o-early", "g-early", "10.00")))
	if early.Status != http.StatusUnprocessableEntity {
		t.Fatalf("refund before purchase: %s", early)
	}
	g.mustOperate(t, "/purchase", body(opBody("o-early", "p-early")), "RESOLVED")
	again := g.call(t, "/refund", body(refundBody("o-early", "g-early", "10.00")))
	if again.Status != http.StatusUnprocessableEntity || !bytes.Equal(again.Body, early.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the stored refusal: %s", again)
	}
}

// TestMerchantsAreApart: another merchant's credentials see nothing of
// this merchant's orders, and guids are per merchant.
func TestMerchantsAreApart(t *testing.T) {
	g := mustGateway(t)
	g.mustOrderIn(t, "o-shared", "purchased")
	other := withAuth("other-shop", "other-password-0123")
	r := g.call(t, "/history", body(opBody("o-shared", "g-h")), other)
	if r.Status != http.StatusNotFound {
		t.Fatalf("another merchant reads the order: %s", r)
	}
	r = g.call(t, "/refund", body(refundBody("o-shared", "g-r", "1.00")), other)
	if r.Status != http.StatusNotFound {
		t.Fatalf("another merchant refunds the order: %s", r)
	}
	// The same guid under this merchant is its own.
	if r := g.call(t, "/history", body(opBody("o-shared", "g-h"))); r.Status != http.StatusOK {
		t.Fatalf("this merchant, same guid: %s", r)
	}
}

// TestRequestID: x-akinon-request-id is echoed, or made when absent, and
// is on the request's log line.
func TestRequestID(t *testing.T) {
	g := mustGateway(t)
	r := g.call(t, "/history", body(opBody("o-none", "g1")), withHeader("x-akinon-request-id", "akinon-req-42"), withHeader("x-akinon-api-version", "2"))
	if r.Header.Get("x-akinon-request-id") != "akinon-req-42" {
		t.Fatalf("request id not echoed: %v", r.Header)
	}
	made := g.call(t, "/history", body(opBody("o-none", "g2")))
	if id := made.Header.Get("x-akinon-request-id"); len(id) < 16 {
		t.Fatalf("no request id made: %q", id)
	}
	long := strings.Repeat("r", 129)
	replaced := g.call(t, "/history", body(opBody("o-none", "g3")), withHeader("x-akinon-request-id", long))
	if id := replaced.Header.Get("x-akinon-request-id"); id == long || len(id) < 16 {
		t.Fatalf("an overlong request id: answered %q", id)
	}
	found := false
	for _, e := range g.logs.FilterField(zap.String("request_id", "akinon-req-42")).All() {
		if e.Message == "request" && e.ContextMap()["api_version"] == "2" && e.ContextMap()["guid"] == "g1" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no request log line with the request id, api version and guid")
	}
}

// TestBodyLimitWithoutLength: a body streamed without Content-Length is
// cut at 64 KiB too.
func TestBodyLimitWithoutLength(t *testing.T) {
	g := mustGateway(t)
	big := `{"guid":"g","orderId":"o","pad":"` + strings.Repeat("x", 70<<10) + `"}`
	req, err := http.NewRequest(http.MethodPost, g.URL+"/history", io.MultiReader(strings.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(testUser, testPassword)
	r := do(t, http.DefaultClient, req)
	mustFail(t, r, http.StatusRequestEntityTooLarge, "body_too_large")
}

// TestInFlightGuidEveryEndpoint: for each of the five calls, a guid whose
// first request is still running (claimed in the store, as a request on
// another replica would have) is answered 409 request_in_progress with
// Retry-After, and nothing is stored.
func TestInFlightGuidEveryEndpoint(t *testing.T) {
	g := mustGateway(t)
	g.mustOrderIn(t, "o-flight", "purchased")
	tests := []struct{ path, endpoint, body string }{
		{"/start-session", "start-session", body(startBody("o-flight-new", "g-flight-start", "10.00"))},
		{"/purchase", "purchase", body(opBody("o-flight", "g-flight-purchase"))},
		{"/void", "void", body(opBody("o-flight", "g-flight-void"))},
		{"/refund", "refund", body(refundBody("o-flight", "g-flight-refund", "10.00"))},
		{"/history", "history", body(opBody("o-flight", "g-flight-history"))},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			var req struct{ GUID, OrderID string }
			if err := json.Unmarshal([]byte(tt.body), &req); err != nil {
				t.Fatal(err)
			}
			fp, err := idempotency.Fingerprint(tt.endpoint, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			// A request elsewhere holds the guid: it claimed it and is running.
			b, err := g.store.Begin(context.Background(), provider.BeginInput{
				Claim: provider.Claim{Merchant: g.merchant.ID, OrderID: req.OrderID, GUID: req.GUID, Token: "elsewhere", Fingerprint: fp},
				Lease: time.Minute,
				Ask:   provider.Ask{Action: provider.ActionHistory, GUID: req.GUID, Now: g.clock.Now()},
			})
			if err != nil || (b.Kind != provider.Claimed && b.Kind != provider.Refused) {
				t.Fatalf("claiming the guid: %+v, %v", b, err)
			}
			for range 2 {
				r := g.call(t, tt.path, tt.body)
				if r.Status != http.StatusConflict || r.Header.Get("Retry-After") != "1" || r.Header.Get("Idempotency-Expires") != "" {
					t.Fatalf("status %d, headers %v: %s", r.Status, r.Header, r.Body)
				}
				if e := checkErrorBody(t, r); e.Errors[0].Code != "request_in_progress" || e.Errors[0].Field != "guid" {
					t.Fatalf("errors %+v", e.Errors)
				}
			}
			// Another body under the in-flight guid is a reuse, not a wait.
			r := g.call(t, tt.path, strings.Replace(tt.body, `"version":"1.0"`, `"version":"2.0"`, 1))
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("another body under an in-flight guid: %s", r)
			}
		})
	}
}
