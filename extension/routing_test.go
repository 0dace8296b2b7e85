package extension_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// checkOperatorError checks the operator's error body: exactly
// {"error":{"code","message"}}, and returns its code.
func checkOperatorError(tb testing.TB, r *response) string {
	tb.Helper()
	var top map[string]json.RawMessage
	mustJSON(tb, r, &top)
	if got := sortedKeys(top); !slices.Equal(got, []string{"error"}) {
		tb.Errorf("operator error body keys %v: %s", got, r.Body)
	}
	var detail map[string]string
	if err := json.Unmarshal(top["error"], &detail); err != nil {
		tb.Fatalf("operator error %s: %v", top["error"], err)
	}
	if got := sortedKeys(detail); !slices.Equal(got, []string{"code", "message"}) || detail["message"] == "" {
		tb.Errorf("operator error keys %v: %s", got, r.Body)
	}
	return detail["code"]
}

// TestRoutingAnswers: a path nobody serves is 404 and a served path asked
// with another method is 405 with its Allow header, with or without
// credentials, on the Akinon side (the contract's body) and on the
// operator's (its own body); credentials are asked only on routes that
// exist.
func TestRoutingAnswers(t *testing.T) {
	g := mustGateway(t, withAdmin())
	const (
		none     = iota
		akinon   // the merchant's credentials
		operator // the operator's
		wrong    // the operator's user, a wrong password
	)
	tests := []struct {
		method, path string
		creds        int
		status       int
		code         string // the error's code; "" for a success
		allow        string
	}{
		{"POST", "/nowhere", none, 404, "not_found", ""},
		{"POST", "/nowhere", akinon, 404, "not_found", ""},
		{"GET", "/metrics", none, 401, "unauthorized", ""}, // behind the operator's credentials on this listener without ADMIN_ADDR
		{"GET", "/start-session", none, 405, "method_not_allowed", "OPTIONS, POST"},
		{"GET", "/refund", akinon, 405, "method_not_allowed", "OPTIONS, POST"},
		{"POST", "/healthz", none, 405, "method_not_allowed", "OPTIONS, GET"},
		{"POST", "/start-session", none, 401, "unauthorized", ""},
		{"GET", "/administrator", none, 404, "not_found", ""},

		{"GET", "/admin/nope", none, 404, "not_found", ""},
		{"GET", "/admin/nope", operator, 404, "not_found", ""},
		{"GET", "/admin/webhooks/nope/deeper", none, 404, "not_found", ""},
		{"GET", "/admin/webhooks/dead/replay", none, 405, "method_not_allowed", "OPTIONS, POST"},
		{"GET", "/admin/webhooks/dead/replay", operator, 405, "method_not_allowed", "OPTIONS, POST"},
		{"DELETE", "/admin/doubts", operator, 405, "method_not_allowed", "OPTIONS, GET"},
		{"GET", "/admin/doubts", none, 401, "unauthorized", ""},
		{"GET", "/admin/doubts", wrong, 401, "unauthorized", ""},
		{"GET", "/admin/doubts", akinon, 401, "unauthorized", ""},
		{"POST", "/admin/webhooks/dead/replay", none, 401, "unauthorized", ""},
		{"GET", "/admin/doubts", operator, 200, "", ""},
		{"GET", "/admin/pprof/heap", none, 401, "unauthorized", ""},
		{"GET", "/admin/pprof/heap", operator, 200, "", ""},
		{"GET", "/admin/webhooks/events/nope", operator, 404, "event_not_found", ""},
		{"POST", "/admin/webhooks/events/nope/replay", operator, 404, "event_not_found", ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, g.URL+tt.path, nil)
		switch tt.creds {
		case akinon:
			req.SetBasicAuth(testUser, testPassword)
		case operator:
			req.SetBasicAuth(adminUser, adminPassword)
			req.Header.Set("X-Gateway-Operator", "1")
		case wrong:
			req.SetBasicAuth(adminUser, "not-the-password")
		}
		// /metrics refuses with the operator's realm but Akinon's error
		// body, which openapi.json describes as neither: sent unchecked.
		if tt.code == "not_found" || tt.status == http.StatusMethodNotAllowed || tt.path == "/metrics" {
			offDocument()(req) // the router's answers, no operation's
		}
		r := do(t, http.DefaultClient, req)
		name := tt.method + " " + tt.path
		if r.Status != tt.status {
			t.Errorf("%s (credentials %d): %s, want %d", name, tt.creds, r, tt.status)
			continue
		}
		if got := r.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s: Allow %q, want %q", name, got, tt.allow)
		}
		if tt.code == "" {
			continue
		}
		var code string
		if strings.HasPrefix(tt.path, "/admin/") {
			code = checkOperatorError(t, r)
		} else {
			code = checkErrorBody(t, r).Errors[0].Code
		}
		if code != tt.code {
			t.Errorf("%s: code %s, want %s (%s)", name, code, tt.code, r.Body)
		}
		auth := r.Header.Get("WWW-Authenticate")
		switch {
		case tt.status != 401 && auth != "":
			t.Errorf("%s: %d asks for credentials: %q", name, tt.status, auth)
		case tt.status == 401 && strings.HasPrefix(tt.path, "/admin/") && auth != `Basic realm="gateway-operator"`:
			t.Errorf("%s: WWW-Authenticate %q, want the operator's realm", name, auth)
		}
	}
}

// TestOperatorPathsWithoutOperator: with no operator credentials nothing
// is mounted under /admin, and its paths are 404 in the operator's body.
func TestOperatorPathsWithoutOperator(t *testing.T) {
	g := mustGateway(t)
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/admin/doubts", nil)
	req.SetBasicAuth(adminUser, adminPassword)
	offDocument()(req) // the document describes a gateway with an operator
	r := do(t, http.DefaultClient, req)
	if r.Status != http.StatusNotFound || checkOperatorError(t, r) != "not_found" {
		t.Fatalf("GET /admin/doubts without an operator: %s", r)
	}
}

// TestProfilesForOperators: the operator reads a CPU profile and the
// heap's, in the format go tool pprof reads (gzipped protobuf).
func TestProfilesForOperators(t *testing.T) {
	g := mustGateway(t, withAdmin())
	for _, path := range []string{"/admin/pprof/profile?seconds=1", "/admin/pprof/heap", "/admin/pprof/"} {
		req, _ := http.NewRequest(http.MethodGet, g.URL+path, nil)
		req.SetBasicAuth(adminUser, adminPassword)
		r := do(t, http.DefaultClient, req)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %s", path, r)
		}
		if strings.HasSuffix(path, "/") {
			if !strings.Contains(string(r.Body), "heap") {
				t.Errorf("%s: the index names no heap profile: %.200s", path, r.Body)
			}
		} else if len(r.Body) < 2 || r.Body[0] != 0x1f || r.Body[1] != 0x8b {
			t.Errorf("%s: not a gzipped profile: %.20q", path, r.Body)
		}
	}
}
