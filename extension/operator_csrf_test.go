package extension_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4/middleware"

	"github.com/akinon-gateway/gateway/extension"
)

// TestOperatorActionsNeedTheirOwnPages: an operator action with the
// operator's credentials is taken only with the console's token or with
// X-Gateway-Operator and a content type no form can send, and never when
// the browser says the request comes from another site. The JSON replay
// of an unknown event answers 404 when the action is let through.
func TestOperatorActionsNeedTheirOwnPages(t *testing.T) {
	g := mustGateway(t, withAdmin())
	op := g.operator(t)
	token := ""
	op.get(t, "/admin/dead-letters")
	u, _ := url.Parse(g.URL + "/admin/")
	for _, ck := range op.c.Jar.Cookies(u) {
		if ck.Name == "gw_admin_csrf" {
			token = ck.Value
		}
	}
	if token == "" {
		t.Fatal("the console set no anti-forgery cookie")
	}
	const replay = "/admin/webhooks/events/nope/replay"
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		body    string
		status  int
	}{
		{"no header, no token", replay, nil, "", 403},
		{"the header", replay, map[string]string{extension.HeaderOperator: "1"}, "", 404},
		{"the header with JSON", replay, map[string]string{extension.HeaderOperator: "1", "Content-Type": "application/json"}, "{}", 404},
		{"the header with a form type", replay, map[string]string{extension.HeaderOperator: "1", "Content-Type": "application/x-www-form-urlencoded"}, "x=1", 403},
		{"the header with text/plain", replay, map[string]string{extension.HeaderOperator: "1", "Content-Type": "text/plain"}, "x", 403},
		{"the header from the same origin", replay, map[string]string{extension.HeaderOperator: "1", "Sec-Fetch-Site": "same-origin"}, "", 404},
		{"the header from another site", replay, map[string]string{extension.HeaderOperator: "1", "Sec-Fetch-Site": "cross-site"}, "", 403},
		{"the header from a sibling site", replay, map[string]string{extension.HeaderOperator: "1", "Sec-Fetch-Site": "same-site"}, "", 403},
		{"the header with another Origin", replay, map[string]string{extension.HeaderOperator: "1", "Origin": "https://evil.example"}, "", 403},
		{"the header with a null Origin", replay, map[string]string{extension.HeaderOperator: "1", "Origin": "null"}, "", 404},
		{"another Origin, but the browser says same-origin", replay, map[string]string{extension.HeaderOperator: "1", "Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"}, "", 404},
		{"the header with its own Origin", replay, map[string]string{extension.HeaderOperator: "1", "Origin": g.URL}, "", 404},
		{"the console's token", "/admin/dead-letters/replay", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "_csrf=" + token, 303},
		{"a wrong token", "/admin/dead-letters/replay", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "_csrf=x" + token, 403},
		{"the console's token for browsers with Sec-Fetch-Site", "/admin/dead-letters/replay", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}, "_csrf=" + middleware.CSRFUsingSecFetchSite, 303},
		{"that token without Sec-Fetch-Site", "/admin/dead-letters/replay", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "_csrf=" + middleware.CSRFUsingSecFetchSite, 403},
		{"that token from another site", "/admin/dead-letters/replay", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}, "_csrf=" + middleware.CSRFUsingSecFetchSite, 403},
		{"the console's token from another site", "/admin/dead-letters/replay", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}, "_csrf=" + token, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, g.URL+tt.path, strings.NewReader(tt.body))
			req.SetBasicAuth(adminUser, adminPassword)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			if tt.status == 403 {
				offDocument()(req)
			}
			r := do(t, op.c, req)
			if r.Status != tt.status {
				t.Fatalf("%s", r)
			}
		})
	}
}
