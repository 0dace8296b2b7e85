package extension

import (
	"crypto/subtle"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/akinon-gateway/gateway/provider"
)

// AdminGroup is the operator endpoints' group under /admin; nil when
// there are no operator credentials, and then no operator endpoint is
// mounted.
//
// Every route of the group, and only those, is behind Basic auth with
// the operator's credentials. The auth is not the group's middleware:
// Echo runs a group's middleware for every path under its prefix (it
// adds catch-all routes for that), so /admin/nope would ask for
// credentials instead of answering 404, and a route asked with another
// method would answer 404 instead of 405 with its Allow header. It runs
// instead on every request and skips those that matched no /admin route:
// what the router answers 404 or 405 is answered so without credentials
// (the operator paths are no secret: the README lists them).
func (s *Server) AdminGroup(e *echo.Echo, user, pass string) *echo.Group {
	if user == "" || pass == "" {
		return nil
	}
	auth := s.AdminAuth(user, pass)
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		checked := auth(sameSiteOnly(next))
		return func(c echo.Context) error {
			if !isAdminRoute(e, c) {
				return next(c)
			}
			return checked(c)
		}
	})
	return e.Group("/admin")
}

// AdminAuth is Basic auth with the operator's credentials, its failures
// throttled like Akinon's (THROTTLE_AUTH_IP, THROTTLE_AUTH_USER): a guessed
// operator password opens every order.
func (s *Server) AdminAuth(user, pass string) echo.MiddlewareFunc {
	return s.authenticate("gateway-operator", func(u, p string, _ echo.Context) bool {
		return subtle.ConstantTimeCompare([]byte(u), []byte(user))&subtle.ConstantTimeCompare([]byte(p), []byte(pass)) == 1
	})
}

// HeaderOperator is the header a script or tool sends with an operator
// action that is not the console's own form: a cross-site form cannot
// send a header of its choosing, and a cross-site fetch that tries is
// stopped by the browser's preflight, which the gateway never allows.
const HeaderOperator = "X-Gateway-Operator"

// sameSiteOnly lets an operator action (any method but GET, HEAD and
// OPTIONS) through only when it comes from the operator's own pages or
// tools: a request a browser says is cross-site (crossSite) is refused,
// and any other must carry the console's anti-forgery token
// (consoleToken), or HeaderOperator with a content type no form can send. A browser sends the operator's cached
// Basic credentials with any site's form, so the credentials alone prove
// nothing about who asked.
func sameSiteOnly(next echo.HandlerFunc) echo.HandlerFunc {
	forbidden := provider.Errorf(codeForbidden, "", "operator actions are taken from the console's own pages, or with the "+HeaderOperator+" header and a non-form content type")
	return func(c echo.Context) error {
		req := c.Request()
		switch req.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if crossSite(req) {
			return forbidden
		}
		if req.Header.Get(HeaderOperator) != "" && !formType(req.Header.Get(echo.HeaderContentType)) {
			return next(c)
		}
		if consoleToken(c) {
			return next(c)
		}
		return forbidden
	}
}

// crossSite reports whether the browser says a request comes from
// another site: Sec-Fetch-Site, which no page can set, other than
// same-origin or none (typed, bookmarked); without it (older browsers),
// an Origin of another host. An Origin of "null" says nothing: the
// console's own forms send it, under its no-referrer policy.
func crossSite(req *http.Request) bool {
	if site := req.Header.Get(echo.HeaderSecFetchSite); site != "" {
		return site != "same-origin" && site != "none"
	}
	origin := req.Header.Get(echo.HeaderOrigin)
	if origin == "" || origin == "null" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, req.Host)
}

// formType reports whether a content type is one an HTML form can send.
func formType(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case echo.MIMEApplicationForm, echo.MIMEMultipartForm, echo.MIMETextPlain:
		return true
	}
	return false
}

// consoleToken reports whether a form carries the console's anti-forgery
// token as the console issues it (Echo's CSRF middleware): to a browser
// that sends Sec-Fetch-Site, a fixed token that holds only with
// Sec-Fetch-Site same-origin or none; to one that does not, the _csrf
// field equal to the console's cookie (SameSite=Strict, HttpOnly: another
// site's form neither carries nor reads it). The form is read within the
// console's body limit.
func consoleToken(c echo.Context) bool {
	req := c.Request()
	if mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); mt != echo.MIMEApplicationForm {
		return false
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, consoleBodyLimit)
	token := req.PostFormValue(csrfField)
	if site := req.Header.Get(echo.HeaderSecFetchSite); site != "" {
		return token == middleware.CSRFUsingSecFetchSite && (site == "same-origin" || site == "none")
	}
	ck, err := c.Cookie(consoleCSRFCookie)
	return err == nil && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ck.Value)) == 1
}

// underAdmin reports whether a path is the operator's.
func underAdmin(path string) bool { return path == "/admin" || strings.HasPrefix(path, "/admin/") }

// isAdminRoute reports whether the router matched a route of the
// operator's with the request's method: the route's path is under /admin
// and that method is registered on it. A 405 (the path exists with other
// methods) and a 404 match none.
func isAdminRoute(e *echo.Echo, c echo.Context) bool {
	if !underAdmin(c.Path()) {
		return false
	}
	method := c.Request().Method
	for _, r := range e.Routes() {
		if r.Path == c.Path() && r.Method == method {
			return true
		}
	}
	return false
}

// doubtView is an in-doubt entry as operators see it.
type doubtView struct {
	Kind       provider.DoubtKind `json:"kind"`
	Action     provider.Action    `json:"action,omitempty"`
	Merchant   string             `json:"merchant"`
	OrderID    string             `json:"orderId"`
	GUID       string             `json:"guid,omitempty"`
	SessionID  string             `json:"sessionId,omitempty"`
	Since      string             `json:"since"`
	Deadline   string             `json:"deadline"`
	AgeSeconds float64            `json:"ageSeconds"`
	Overdue    bool               `json:"overdue"` // past its deadline: the reconciler's to settle
}

// MountDoubts adds GET /admin/doubts: what is not settled yet and for how
// long — operations whose request has not stored a reply, payments at the
// processor — oldest first.
func MountDoubts(g *echo.Group, svc *provider.Service) {
	if g == nil {
		return
	}
	g.GET("/doubts", func(c echo.Context) error {
		ds, err := svc.InDoubt(c.Request().Context())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"inDoubt": doubtViews(svc, ds, svc.Now())})
	})
}

// doubtViews are in-doubt entries as operators see them, at now.
func doubtViews(svc *provider.Service, ds []provider.Doubt, now time.Time) []doubtView {
	held := svc.Config().Lease + svc.Config().Margin
	out := make([]doubtView, 0, len(ds))
	for _, d := range ds {
		since := d.Deadline.Add(-held)
		v := doubtView{Kind: d.Kind, Action: d.Action, Merchant: d.Merchant, OrderID: d.OrderID,
			Since: provider.FormatTime(since), Deadline: provider.FormatTime(d.Deadline),
			AgeSeconds: now.Sub(since).Seconds(), Overdue: now.After(d.Deadline)}
		if d.Kind == provider.DoubtPayment {
			v.SessionID = d.ID
		} else {
			v.GUID = d.ID
		}
		out = append(out, v)
	}
	return out
}

// Age is how long the entry has been in doubt, as the console shows it.
func (d doubtView) Age() string { return age(time.Duration(d.AgeSeconds * float64(time.Second))) }

// Link is the address of the entry's order in the console.
func (d doubtView) Link() string { return orderRef{d.Merchant, d.OrderID}.Link() }

// MountMetrics serves a scrape handler at /metrics on the operator's
// router: as is when the operator has a listener of its own (separate:
// scrapers reach it there, the public cannot), else behind the operator's
// credentials, and without those not at all.
func (s *Server) MountMetrics(e *echo.Echo, h http.Handler, separate bool, user, pass string) {
	switch {
	case separate:
		e.GET("/metrics", echo.WrapHandler(h))
	case user != "" && pass != "":
		e.GET("/metrics", echo.WrapHandler(h), s.AdminAuth(user, pass))
	}
}
