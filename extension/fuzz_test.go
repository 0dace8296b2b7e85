package extension_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/akinon-gateway/gateway/provider/sandbox"
)

// FuzzAkinonBodies sends arbitrary bodies to the five calls of a gateway
// holding one purchased order. Whatever arrives, the answer is one the
// contract allows, in the contract's error shape when it is an error,
// never a 5xx; and the purchased order's balance never moves unless the
// body was a refund or a void the gateway accepted.
func FuzzAkinonBodies(f *testing.F) {
	g := mustGateway(f)
	s := g.mustStart(f, "fz-order")
	newBrowser(f).pay(f, s.RedirectURL, cardOf(sandbox.CardApproved))
	g.mustOperate(f, "/purchase", body(opBody("fz-order", "fz-purchase")), "RESOLVED")

	paths := []string{"/start-session", "/purchase", "/void", "/refund", "/history"}
	for _, seed := range []string{
		body(startBody("fz-new", "fz-g1", "10.00")),
		body(opBody("fz-order", "fz-g2")),
		body(refundBody("fz-order", "fz-g3", "1.00")),
		`{"guid":"fz-g4","orderId":"fz-order","amount":1.001,"currency":"TRY"}`,
		`{"guid":"fz-g5","orderId":"fz-order","amount":"1.00","currency":"TRY"}`,
		`{"guid":["x"],"orderId":{"a":1}}`,
		`{"guid":"fz-g6","orderId":"fz-order","amount":1e400,"currency":"TRY"}`,
		`{"customer":{"email":7}}`,
		`[]`, `null`, `{`, `"\u0000"`, "{\"guid\":\"\xff\"}",
	} {
		for i := range paths {
			f.Add(uint8(i), seed)
		}
	}
	allowed := map[int]bool{http.StatusOK: true, http.StatusBadRequest: true, http.StatusNotFound: true,
		http.StatusConflict: true, http.StatusRequestEntityTooLarge: true, http.StatusUnprocessableEntity: true}

	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		path := paths[int(which)%len(paths)]
		before, _ := g.mustHistory(t, "fz-order")
		r := g.call(t, path, raw)
		if !allowed[r.Status] {
			t.Fatalf("%s %q: status %d\n%s", path, raw, r.Status, r.Body)
		}
		if r.Status != http.StatusOK {
			var e map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &e); err != nil || len(e) != 4 || e["errors"] == nil {
				t.Fatalf("%s %q: error body not in the contract's shape: %s", path, raw, r.Body)
			}
		}
		after, _ := g.mustHistory(t, "fz-order")
		moves := (path == "/refund" || path == "/void") && r.Status == http.StatusOK
		if after.Balance != before.Balance && !moves {
			t.Fatalf("%s %q moved the balance from %s to %s with status %d", path, raw, before.Balance, after.Balance, r.Status)
		}
	})
}
