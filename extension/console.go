package extension

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/akinon-gateway/gateway/provider"
)

// The operator console: server-rendered pages under /admin/, behind the
// operator's credentials like the operator endpoints, with the hosted
// page's discipline — a per-response nonce for the one style element, no
// script, never in a frame, and Echo's CSRF middleware on every action
// (each is a POST carrying the token).
//
//	GET  /admin/                     the outbox and what is in doubt at a glance; the search form
//	GET  /admin/search               an order by merchant and orderId, by sessionId or by guid
//	GET  /admin/order                one order: session, history, webhooks, what is in doubt
//	GET  /admin/dead-letters         parked webhooks, each with a replay button; replay all
//	POST /admin/dead-letters/replay  replay every dead letter
//	GET  /admin/events/:id           one webhook: its body and every attempt
//	POST /admin/events/:id/replay    replay one parked webhook
//	GET  /admin/in-doubt             what is not settled yet

//go:embed templates/console/*.html
var consoleFS embed.FS

// console is the mounted console.
type console struct {
	s     *Server
	svc   *provider.Service // every read and action goes through it
	pages map[string]*template.Template
	paths map[string]bool // its routes, whose errors are pages too
}

// consoleDeadLimit is how many dead letters the list shows.
const consoleDeadLimit = 100

// maxSearch bounds what the search form takes in each field.
const maxSearch = 256

// MountConsole adds the console's pages to the operator group
// (AdminGroup); a nil group mounts nothing.
// The console's anti-forgery cookie, and the largest form it reads.
const (
	consoleCSRFCookie = "gw_admin_csrf"
	consoleBodyLimit  = 16 << 10
)

func (s *Server) MountConsole(admin *echo.Group) {
	if admin == nil {
		return
	}
	k := &console{s: s, svc: s.svc, pages: map[string]*template.Template{}, paths: map[string]bool{}}
	for _, name := range []string{"home", "order", "dead", "event", "doubts", "error"} {
		k.pages[name] = template.Must(template.ParseFS(consoleFS, "templates/console/layout.html", "templates/console/"+name+".html"))
	}
	csrf := middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:" + csrfField,
		CookieName:     consoleCSRFCookie,
		CookiePath:     "/admin",
		CookieHTTPOnly: true,
		CookieSecure:   s.secure,
		CookieSameSite: http.SameSiteStrictMode,
		// A missing token is a forgery or an expired form as much as a
		// wrong one: both are 403.
		ErrorHandler: func(error, echo.Context) error { return echo.NewHTTPError(http.StatusForbidden) },
	})
	// Middleware per route, never a group's: a group's would catch every
	// path under /admin (see AdminGroup).
	get := func(path string, h echo.HandlerFunc) {
		admin.GET(path, h, csrf)
		k.paths["/admin"+path] = true
	}
	post := func(path string, h echo.HandlerFunc) {
		admin.POST(path, h, bodyLimit(consoleBodyLimit), csrf)
		k.paths["/admin"+path] = true
	}
	admin.GET("", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/admin/") })
	get("/", k.home)
	get("/search", k.search)
	get("/order", k.order)
	get("/dead-letters", k.deadLetters)
	post("/dead-letters/replay", k.replayDead)
	get("/events/:id", k.event)
	post("/events/:id/replay", k.replayEvent)
	get("/in-doubt", k.doubts)
	s.console = k
}

// consoleView is what every console template reads; Body is the page's.
type consoleView struct {
	Nonce, CSRF string
	Title       string
	Active      string // the navigation entry of the page
	Flash       string
	Warnings    []string // what runs that is not for production (Options.Warnings)
	Body        any
}

func (k *console) render(c echo.Context, status int, page string, v consoleView) error {
	v.Nonce = nonce()
	v.CSRF, _ = c.Get("csrf").(string)
	v.Warnings = k.s.warnings
	var buf bytes.Buffer
	if err := k.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		return provider.Wrap(provider.CodeInternal, "console page", err)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pagePolicy(v.Nonce, "'self'"))
	return c.HTMLBlob(status, buf.Bytes())
}

// errorView is the console's error page.
type errorView struct {
	Status  int
	Code    string
	Message string
}

// renderError is the console's face of the HTTP error handler.
func (k *console) renderError(c echo.Context, status int, err error) {
	e := toErrors(err)[0]
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	_ = k.render(c, status, "error", consoleView{Title: http.StatusText(status),
		Body: errorView{Status: status, Code: string(e.Code), Message: msg}})
}

// consoleErr turns a store error into the console's: a missing thing is
// a 404 with code, an unreachable store 503, anything else internal.
func consoleErr(err error, code provider.Code, what string) error {
	switch {
	case errors.Is(err, provider.ErrNotFound):
		return provider.Errorf(code, "", "%s", what)
	case errors.Is(err, provider.ErrUnavailable):
		return provider.Wrap(provider.CodeStoreUnavailable, "the store is unavailable", err)
	}
	return provider.Wrap(provider.CodeInternal, "internal error", err)
}

// statsView is the home page's numbers.
type statsView struct {
	OutboxDepth  int64
	OldestDueAge string // "" when nothing is due
	DeadLetters  int64
	InDoubt      int
	Overdue      int
}

// searchQuery is the search form as sent.
type searchQuery struct {
	Merchant, OrderID, SessionID, GUID string
}

// orderRef names an order and links to its page.
type orderRef struct{ Merchant, OrderID string }

// Link is the order page's address.
func (o orderRef) Link() string {
	return "/admin/order?" + url.Values{"merchant": {o.Merchant}, "orderId": {o.OrderID}}.Encode()
}

type homeView struct {
	Stats     statsView
	Merchants []string
	Query     searchQuery
	Matches   []orderRef
	Message   string
}

func (k *console) homeView(c echo.Context) (homeView, error) {
	ctx, now := c.Request().Context(), time.Now()
	st, err := k.svc.OutboxStats(ctx, now)
	if err != nil {
		return homeView{}, consoleErr(err, provider.CodeInternal, "")
	}
	ds, err := k.svc.InDoubt(ctx)
	if err != nil {
		return homeView{}, err
	}
	v := homeView{Stats: statsView{OutboxDepth: st.Depth, DeadLetters: st.Dead, InDoubt: len(ds)}}
	if !st.OldestDue.IsZero() {
		v.Stats.OldestDueAge = age(now.Sub(st.OldestDue))
	}
	for _, d := range ds {
		if k.svc.Now().After(d.Deadline) {
			v.Stats.Overdue++
		}
	}
	for _, m := range k.s.merchants.All() {
		v.Merchants = append(v.Merchants, m.ID)
	}
	return v, nil
}

func (k *console) home(c echo.Context) error {
	v, err := k.homeView(c)
	if err != nil {
		return err
	}
	return k.render(c, http.StatusOK, "home", consoleView{Title: "Overview", Active: "home", Body: v})
}

// search finds the order a query names and shows it; several matches
// (one order id at several merchants) are listed, none is said so.
func (k *console) search(c echo.Context) error {
	q := searchQuery{
		Merchant:  strings.TrimSpace(c.QueryParam("merchant")),
		OrderID:   strings.TrimSpace(c.QueryParam("orderId")),
		SessionID: strings.TrimSpace(c.QueryParam("sessionId")),
		GUID:      strings.TrimSpace(c.QueryParam("guid")),
	}
	v, err := k.homeView(c)
	if err != nil {
		return err
	}
	v.Query = q
	status, what, err := k.find(c.Request().Context(), &v)
	if err != nil {
		return err
	}
	switch {
	case len(v.Matches) == 1:
		return c.Redirect(http.StatusSeeOther, v.Matches[0].Link())
	case len(v.Matches) > 1:
		v.Message = "Several orders match " + what + ":"
	case what != "":
		v.Message, status = "Nothing found for "+what+".", http.StatusNotFound
	}
	return k.render(c, status, "home", consoleView{Title: "Search", Active: "home", Body: v})
}

// find fills v.Matches with the orders v.Query names. what names the
// query for the page's message; a query refused (too long, empty) has
// none, and the message is set.
func (k *console) find(ctx context.Context, v *homeView) (status int, what string, err error) {
	q := v.Query
	switch {
	case len(q.OrderID) > maxSearch || len(q.SessionID) > maxSearch || len(q.GUID) > maxSearch || len(q.Merchant) > maxSearch:
		v.Message = "Each field takes at most 256 characters."
		return http.StatusBadRequest, "", nil
	case q.SessionID != "":
		what = "session " + q.SessionID
	case q.GUID != "":
		what = "guid " + q.GUID
	case q.OrderID != "":
		what = "order " + q.OrderID
	default:
		v.Message = "Give an order id, a session id or a guid."
		return http.StatusBadRequest, "", nil
	}
	merchants := v.Merchants
	if q.Merchant != "" {
		merchants = []string{q.Merchant}
	}
	found, err := k.svc.FindOrders(ctx, provider.OrderQuery{Merchants: merchants, OrderID: q.OrderID, SessionID: q.SessionID, GUID: q.GUID})
	if err != nil {
		return 0, "", consoleErr(err, provider.CodeInternal, "")
	}
	for _, r := range found {
		v.Matches = append(v.Matches, orderRef(r))
	}
	return http.StatusOK, what, nil
}

// sessionView is an order's session as the operator reads it: amounts in
// major units, and of the card only its BIN and last four.
type sessionView struct {
	ID, TransactionID, Type, Currency string
	Phase, Status, SubStatus, Detail  string
	Amount, Authorised, Captured      string
	Refunded, Reserved, Balance       string
	Installment                       int
	CardBIN, CardLast4                string
	Created, Expires                  string
}

// eventLogView is a webhook with its attempts.
type eventLogView struct {
	ID, State, Created, Next, ParkedAt string
	Attempts                           []provider.Attempt
}

type orderView struct {
	orderRef
	Session sessionView
	Steps   []provider.Step
	Events  []eventLogView
	Doubts  []doubtView
}

func (k *console) order(c echo.Context) error {
	ref := orderRef{Merchant: c.QueryParam("merchant"), OrderID: c.QueryParam("orderId")}
	if all := k.s.merchants.All(); ref.Merchant == "" && len(all) == 1 {
		ref.Merchant = all[0].ID // one merchant: merchant= says nothing
	}
	ctx := c.Request().Context()
	sess, err := k.svc.Order(ctx, ref.Merchant, ref.OrderID)
	if err != nil {
		return consoleErr(err, provider.CodeOrderNotFound, "no such order")
	}
	steps, err := k.svc.Steps(ctx, ref.Merchant, ref.OrderID)
	if err != nil {
		return consoleErr(err, provider.CodeInternal, "")
	}
	logs, err := k.svc.OrderEvents(ctx, ref.Merchant, ref.OrderID)
	if err != nil {
		return consoleErr(err, provider.CodeInternal, "")
	}
	ds, err := k.svc.InDoubt(ctx)
	if err != nil {
		return err
	}
	st := sess.State()
	v := orderView{orderRef: ref, Steps: provider.HistorySteps(sess, steps), Session: sessionView{
		ID: sess.ID, TransactionID: sess.TransactionID, Type: string(sess.Type), Currency: sess.Currency,
		Phase: string(sess.EffectivePhase(k.svc.Now())), Status: string(st.Status), SubStatus: string(st.SubStatus), Detail: sess.Detail,
		Amount: sess.Amount.String(), Authorised: sess.Authorised.String(), Captured: sess.Captured.String(),
		Refunded: sess.Refunded.String(), Reserved: sess.Reserved.String(), Balance: sess.Balance().String(),
		Installment: max(sess.Installment, 1), CardBIN: sess.CardBIN, CardLast4: sess.CardLast4,
		Created: provider.FormatTime(sess.CreatedAt), Expires: provider.FormatTime(sess.ExpiresAt),
	}}
	for _, l := range logs {
		e := l.Event
		lv := eventLogView{ID: e.ID, State: e.State, Created: provider.FormatTime(e.Created), Attempts: l.Attempts}
		if !e.Next.IsZero() {
			lv.Next = provider.FormatTime(e.Next)
		}
		if !e.ParkedAt.IsZero() {
			lv.ParkedAt = provider.FormatTime(e.ParkedAt)
		}
		v.Events = append(v.Events, lv)
	}
	for _, d := range doubtViews(k.s.svc, ds, k.svc.Now()) {
		if d.Merchant == ref.Merchant && d.OrderID == ref.OrderID {
			v.Doubts = append(v.Doubts, d)
		}
	}
	return k.render(c, http.StatusOK, "order", consoleView{Title: "Order " + ref.OrderID, Active: "home", Body: v})
}

// deadRow is a dead letter in the list.
type deadRow struct {
	orderRef
	ID, State, Created, ParkedAt string
	Attempts                     int
}

func (k *console) deadLetters(c echo.Context) error {
	ctx := c.Request().Context()
	evs, err := k.svc.DeadLetters(ctx, consoleDeadLimit)
	if err != nil {
		return consoleErr(err, provider.CodeInternal, "")
	}
	rows := make([]deadRow, 0, len(evs))
	for _, e := range evs {
		rows = append(rows, deadRow{orderRef: orderRef{e.Merchant, e.OrderID}, ID: e.ID, State: e.State,
			Created: provider.FormatTime(e.Created), ParkedAt: provider.FormatTime(e.ParkedAt), Attempts: e.Attempts})
	}
	v := consoleView{Title: "Dead letters", Active: "dead", Body: rows}
	if n, err := strconv.Atoi(c.QueryParam("replayed")); err == nil && n >= 0 {
		v.Flash = strconv.Itoa(n) + " dead letters replayed: each is pending again, from the start of the schedule."
	}
	return k.render(c, http.StatusOK, "dead", v)
}

func (k *console) replayDead(c echo.Context) error {
	n, err := k.svc.ReplayDead(c.Request().Context(), time.Now())
	if err != nil {
		return consoleErr(err, provider.CodeInternal, "")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/dead-letters?replayed="+strconv.Itoa(n))
}

// eventView is one webhook's page.
type eventView struct {
	orderRef
	ID, State, Created, Next string
	Attempts, Tries          int
	Body                     string // indented
	Log                      []provider.Attempt
	Replayable               bool
}

func (k *console) event(c echo.Context) error {
	ev, attempts, err := k.svc.Event(c.Request().Context(), c.Param("id"))
	if err != nil {
		return consoleErr(err, provider.CodeEventNotFound, "no such event")
	}
	v := eventView{orderRef: orderRef{ev.Merchant, ev.OrderID}, ID: ev.ID, State: ev.State, Created: provider.FormatTime(ev.Created),
		Attempts: ev.Attempts, Tries: ev.Tries, Log: attempts, Replayable: ev.State == provider.OutcomeDead || ev.State == provider.OutcomeGone}
	if !ev.Next.IsZero() {
		v.Next = provider.FormatTime(ev.Next)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, ev.Body, "", "  ") == nil {
		v.Body = pretty.String()
	} else {
		v.Body = string(ev.Body)
	}
	view := consoleView{Title: "Event " + ev.ID, Active: "dead", Body: v}
	if c.QueryParam("replayed") == "1" {
		view.Flash = "Replayed: the event is pending again, from the start of the schedule."
	}
	return k.render(c, http.StatusOK, "event", view)
}

func (k *console) replayEvent(c echo.Context) error {
	id := c.Param("id")
	ok, err := k.svc.ReplayEvent(c.Request().Context(), id, time.Now())
	if err != nil {
		return consoleErr(err, provider.CodeEventNotFound, "no such event")
	}
	if !ok {
		return provider.Errorf(provider.CodeNotParked, "", "only a dead or gone event can be replayed")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/events/"+url.PathEscape(id)+"?replayed=1")
}

type doubtsView struct {
	Doubts  []doubtView
	Overdue int
}

func (k *console) doubts(c echo.Context) error {
	ds, err := k.svc.InDoubt(c.Request().Context())
	if err != nil {
		return err
	}
	v := doubtsView{Doubts: doubtViews(k.s.svc, ds, k.svc.Now())}
	for _, d := range v.Doubts {
		if d.Overdue {
			v.Overdue++
		}
	}
	return k.render(c, http.StatusOK, "doubts", consoleView{Title: "In doubt", Active: "doubts", Body: v})
}

// age is a duration as an operator reads it: 45s, 3m 05s, 2h 10m.
func age(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m " + pad2(int(d.Seconds())%60) + "s"
	}
	return strconv.Itoa(int(d.Hours())) + "h " + pad2(int(d.Minutes())%60) + "m"
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
