package extension_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// TestSecurityHeaders: every answer, JSON or page, success or error,
// tells the browser not to sniff its type, not to send a referrer and not
// to frame it; every page's policy forbids frames too; HSTS comes with an
// https PUBLIC_URL only.
func TestSecurityHeaders(t *testing.T) {
	type page struct {
		status int
		html   bool
		// cookie: the page needs the anti-forgery cookie back, which a
		// browser sends over https only when PUBLIC_URL is https.
		cookie bool
	}
	tests := []struct {
		name string
		want page
		send func(t *testing.T, g *gateway) *response
	}{
		{"a call's answer", page{http.StatusOK, false, false}, func(t *testing.T, g *gateway) *response {
			g.mustStart(t, "o-answer")
			return g.call(t, "/history", body(opBody("o-answer", "h-answer")))
		}},
		{"a refused call", page{http.StatusBadRequest, false, false}, func(t *testing.T, g *gateway) *response {
			return g.call(t, "/refund", `{`)
		}},
		{"no credentials", page{http.StatusUnauthorized, false, false}, func(t *testing.T, g *gateway) *response {
			return g.call(t, "/void", body(opBody("o-x", "g-x")), withoutAuth())
		}},
		{"not JSON", page{http.StatusUnsupportedMediaType, false, false}, func(t *testing.T, g *gateway) *response {
			return g.call(t, "/void", body(opBody("o-x", "g-x")), withHeader("Content-Type", "text/plain"))
		}},
		{"too large", page{http.StatusRequestEntityTooLarge, false, false}, func(t *testing.T, g *gateway) *response {
			return g.call(t, "/void", strings.Repeat(" ", 65<<10))
		}},
		{"no such endpoint", page{http.StatusNotFound, false, false}, func(t *testing.T, g *gateway) *response {
			return g.call(t, "/capture", "{}", offDocument())
		}},
		{"health", page{http.StatusOK, false, false}, func(t *testing.T, g *gateway) *response {
			return newBrowser(t).get(t, g.URL+"/healthz")
		}},
		{"the card form", page{http.StatusOK, true, false}, func(t *testing.T, g *gateway) *response {
			return newBrowser(t).get(t, g.pageURL(t, g.mustStart(t, "o-form")))
		}},
		{"a refused card form", page{http.StatusUnprocessableEntity, true, true}, func(t *testing.T, g *gateway) *response {
			s := g.mustStart(t, "o-refused")
			return newBrowser(t).pay(t, s.RedirectURL, card{Holder: "A", Number: "1", Expiry: "x", CVC: "1", Installment: "1"})
		}},
		{"the return page", page{http.StatusOK, true, true}, func(t *testing.T, g *gateway) *response {
			s := g.mustStart(t, "o-return")
			return newBrowser(t).pay(t, s.RedirectURL, cardOf(sandbox.CardApproved))
		}},
		{"the 404 page", page{http.StatusNotFound, true, false}, func(t *testing.T, g *gateway) *response {
			return newBrowser(t).get(t, g.URL+"/pay/nope")
		}},
		{"the 403 page", page{http.StatusForbidden, true, true}, func(t *testing.T, g *gateway) *response {
			s := g.mustStart(t, "o-forged")
			b := newBrowser(t)
			b.get(t, s.RedirectURL)
			return b.post(t, s.RedirectURL, url.Values{"_csrf": {"forged-token-forged-token-forged!"}})
		}},
		{"the 410 page", page{http.StatusGone, true, false}, func(t *testing.T, g *gateway) *response {
			old := g.pageURL(t, g.mustStart(t, "o-replaced"))
			g.call(t, "/start-session", body(startBody("o-replaced", "start-o-replaced-2", "100.00")))
			return newBrowser(t).get(t, old)
		}},
		{"the 500 page", page{http.StatusInternalServerError, true, false}, func(t *testing.T, g *gateway) *response {
			u := g.pageURL(t, g.mustStart(t, "o-broken"))
			// The order's hash is made a string: reading it is an error
			// the store does not know, an internal one.
			if err := g.rdb.Set(context.Background(), g.prefix+":{0}:o:default:o-broken", "x", 0).Err(); err != nil {
				t.Fatal(err)
			}
			return newBrowser(t).get(t, u)
		}},
	}
	for _, public := range []string{"", "https://pay.example"} {
		g := mustGateway(t, withPublicURL(public))
		for _, tt := range tests {
			name := "http/" + tt.name
			if public != "" {
				if tt.want.cookie {
					continue
				}
				name = "https/" + tt.name
			}
			t.Run(name, func(t *testing.T) {
				r := tt.send(t, g)
				if r.Status != tt.want.status {
					t.Fatalf("status %d, want %d: %.300s", r.Status, tt.want.status, r.Body)
				}
				want := map[string]string{
					"X-Content-Type-Options":    "nosniff",
					"Referrer-Policy":           "no-referrer",
					"X-Frame-Options":           "DENY",
					"Strict-Transport-Security": "",
				}
				if public != "" {
					want["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
				}
				for k, v := range want {
					if got := r.Header.Get(k); got != v {
						t.Errorf("%s: %q, want %q", k, got, v)
					}
				}
				csp := r.Header.Get("Content-Security-Policy")
				if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("Content-Security-Policy %q, want default-src and frame-ancestors 'none'", csp)
				}
				if html := strings.HasPrefix(r.Header.Get("Content-Type"), "text/html"); html != tt.want.html {
					t.Errorf("Content-Type %q, want HTML %v", r.Header.Get("Content-Type"), tt.want.html)
				}
			})
		}
	}
}

// pageURL is a session's hosted page on the test server, whatever
// PUBLIC_URL says.
func (g *gateway) pageURL(tb testing.TB, s started) string {
	tb.Helper()
	u, err := url.Parse(s.RedirectURL)
	if err != nil {
		tb.Fatal(err)
	}
	return g.URL + u.Path
}
