package extension

import (
	"fmt"

	"github.com/labstack/echo/v4"
)

// securityHeaders sets, before anything else can answer, the headers every
// answer carries: JSON, pages and error pages alike. A browser must not
// guess a type other than the one sent, send the page's address (it holds
// the session id) to another site, or show any answer in a frame. An
// answer without a page of its own gets a policy that allows nothing;
// pages replace it with pagePolicy. HSTS only when the gateway is
// reached over https, as PUBLIC_URL says.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		for _, b := range baseHeaders {
			h[b.name] = b.value
		}
		if s.secure {
			h[hsts.name] = hsts.value
		}
		return next(c)
	}
}

// A header every answer carries, its name canonical. The value's slice
// is shared by every answer: a header's value is replaced (Header.Set),
// never written in place, so none is allocated per request.
type header struct {
	name  string
	value []string
}

var (
	baseHeaders = [...]header{
		{"X-Content-Type-Options", []string{"nosniff"}},
		{"Referrer-Policy", []string{"no-referrer"}},
		{"X-Frame-Options", []string{"DENY"}},
		{"Content-Security-Policy", []string{"default-src 'none'; frame-ancestors 'none'"}},
	}
	hsts = header{"Strict-Transport-Security", []string{"max-age=31536000; includeSubDomains"}}
)

// pagePolicy is the Content-Security-Policy of every HTML page: its own
// style and script by nonce, forms only to formAction, never in a frame.
func pagePolicy(nonce, formAction string) string {
	return fmt.Sprintf("default-src 'none'; style-src 'nonce-%s'; script-src 'nonce-%s'; form-action %s; frame-ancestors 'none'; base-uri 'none'",
		nonce, nonce, formAction)
}
