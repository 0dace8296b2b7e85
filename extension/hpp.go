package extension

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"

	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
)

//go:embed templates/*.html
var templateFS embed.FS

type pages struct {
	pay, threeDS, processing, back, message *template.Template
}

func mustPages() *pages {
	load := func(name string) *template.Template {
		return template.Must(template.ParseFS(templateFS, "templates/"+name, "templates/layout.html"))
	}
	return &pages{
		pay:        load("pay.html"),
		threeDS:    load("threeds.html"),
		processing: load("processing.html"),
		back:       load("return.html"),
		message:    load("message.html"),
	}
}

const (
	paramSession = "sid"
	csrfField    = "_csrf"
)

func (s *Server) routePages(e *echo.Echo) {
	g := e.Group("/pay", bodyLimit(16<<10), middleware.CSRFWithConfig(middleware.CSRFConfig{
		// The bank's return is a cross-site POST, which carries no
		// SameSite cookie, so it cannot pass this check; it needs none:
		// its path names the attempt (a secret the bank was given), it is
		// claimed once, and the processor verifies the bank's signature.
		Skipper:        func(c echo.Context) bool { return c.Path() == returnRoute },
		TokenLookup:    "form:" + csrfField,
		CookieName:     "gw_csrf",
		CookiePath:     "/pay",
		CookieHTTPOnly: true,
		CookieSecure:   s.secure,
		CookieSameSite: http.SameSiteStrictMode,
	}))
	g.GET("/:sid", s.showPage)
	g.POST("/:sid", s.payCard)
	g.GET("/:sid/return/:attempt", s.bankReturn)
	g.POST("/:sid/return/:attempt", s.bankReturn)
}

// returnRoute is where a bank sends the shopper back for one attempt.
const returnRoute = "/pay/:sid/return/:attempt"

func isPage(c echo.Context) bool { return strings.HasPrefix(c.Path(), "/pay") }

// pageSession loads the session and its merchant for a page request.
func (s *Server) pageSession(c echo.Context) (*provider.Session, *Merchant, error) {
	sess, err := s.svc.Session(c.Request().Context(), c.Param(paramSession))
	if err != nil {
		return nil, nil, err
	}
	m := s.merchants.ByID(sess.Merchant)
	if m == nil {
		return nil, nil, provider.Errorf(provider.CodeSessionUnknown, "", "unknown payment session")
	}
	c.Set(ctxMerchant, m)
	c.Set(ctxOrder, sess.OrderID)
	return sess, m, nil
}

func (s *Server) showPage(c echo.Context) error {
	sess, m, err := s.pageSession(c)
	if err != nil {
		return err
	}
	return s.show(c, m, s.svc.Page(&m.Merchant, c.Param(paramSession), sess))
}

func (s *Server) payCard(c echo.Context) error {
	sess, m, err := s.pageSession(c)
	if err != nil {
		return err
	}
	// A session that cannot take a card is shown as it is: the form
	// charges no budget, so a finished session's address is no lever.
	if page := s.svc.Page(&m.Merchant, c.Param(paramSession), sess); page.State != provider.PageForm {
		return s.show(c, m, page)
	}
	form := provider.CardForm{
		CardHolder:  c.FormValue("cardHolder"),
		CardNumber:  c.FormValue("cardNumber"),
		Expiry:      c.FormValue("expiry"),
		CVC:         c.FormValue("cvc"),
		Installment: c.FormValue("installment"),
		ReturnBase:  s.publicURL + "/pay/" + url.PathEscape(sess.ID) + "/return/",
	}
	ctx, bin := c.Request().Context(), cardBIN(form.CardNumber)
	if err := s.throttle.cardAttempt(ctx, s.clientKey(c), m.ID, bin); err != nil {
		return s.throttledPage(c, sess, err)
	}
	v, err := s.svc.Pay(ctx, &m.Merchant, sess, form)
	if err != nil {
		return err
	}
	if len(v.Errors) > 0 || v.Session.Phase == provider.PhaseRejected {
		// Charged even when the client has hung up: hanging up must not
		// make a decline free.
		s.throttle.cardRefused(context.WithoutCancel(ctx), m.ID, bin)
	}
	s.logger(c).Info("card payment", zap.String("session_id", sess.ID), zap.String("page", pageName(v.State)),
		zap.String("bin", v.Session.CardBIN), zap.String("last4", v.Session.CardLast4), zap.Int("refused_fields", len(v.Errors)))
	return s.show(c, m, v)
}

// bankReturn takes the shopper back from the bank (a POST, or a GET with
// the fields in the query) and finishes the attempt its path names.
func (s *Server) bankReturn(c echo.Context) error {
	sess, m, err := s.pageSession(c)
	if err != nil {
		return err
	}
	if sess.ID != c.Param(paramSession) {
		return s.show(c, m, s.svc.Page(&m.Merchant, c.Param(paramSession), sess))
	}
	if err := c.Request().ParseForm(); err != nil {
		return provider.Errorf(provider.CodeInvalidField, "", "unreadable return from the bank")
	}
	fields := map[string]string{}
	for k, v := range c.Request().Form {
		if len(v) > 0 && k != csrfField {
			fields[k] = v[0]
		}
	}
	v, err := s.svc.Return(c.Request().Context(), &m.Merchant, sess, c.Param("attempt"), fields)
	if err != nil {
		return err
	}
	s.logger(c).Info("bank return", zap.String("session_id", sess.ID), zap.String("page", pageName(v.State)))
	return s.show(c, m, v)
}

// pageData is what every template reads.
type pageData struct {
	Lang, Nonce, CSRF, Action string
	T                         *texts
	Amount, Currency          string
	Installments              []installmentChoice
	Errors                    map[string]string
	TriesNote                 string
	Result, ReturnURL         string
	Fields                    []formField
	Heading, Text             string
	Method                    string
}

type installmentChoice struct {
	Count int
	Label string
}

type formField struct{ Name, Value string }

// show renders what the view calls for. A 3-D Secure challenge answers
// the card form's POST with the form that takes the shopper to the bank;
// a session at the bank, seen again, waits for the bank's return.
func (s *Server) show(c echo.Context, m *Merchant, v provider.PageView) error {
	sess := v.Session
	lang, t := textsFor(sess.Locale)
	d := pageData{Lang: lang, T: t, Nonce: nonce(), Amount: formatAmount(sess.Amount, lang), Currency: sess.Currency}
	d.CSRF, _ = c.Get("csrf").(string)
	base := "/pay/" + url.PathEscape(sess.ID)
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	formAction := "'self'"

	var tpl *template.Template
	status := http.StatusOK
	switch v.State {
	case provider.PageForm:
		tpl, d.Action = s.pages.pay, base
		d.Installments = installmentChoices(m, sess, lang, t)
		if len(v.Errors) > 0 {
			d.Errors = map[string]string{}
			for _, e := range v.Errors {
				d.Errors[e.Field] = t.Field[e.Field]
			}
			d.TriesNote = fmt.Sprintf(t.TriesLeft, v.TriesLeft)
			status = http.StatusUnprocessableEntity
		}
	case provider.PageThreeDS:
		origin, ok := bankOrigin(v.Redirect)
		if !ok {
			tpl, d.Heading, d.Text = s.pages.message, t.ThreeDSTitle, t.ThreeDSAway
			h.Set("Refresh", "2")
			break
		}
		// The form is rendered once, never stored: it may carry the card.
		tpl, d.Action, d.Method = s.pages.threeDS, v.Redirect.URL, v.Redirect.Method
		for _, f := range v.Redirect.Fields {
			d.Fields = append(d.Fields, formField{f.Name, f.Value})
		}
		formAction += " " + origin
	case provider.PageProcessing:
		tpl = s.pages.processing
		h.Set("Refresh", "2")
	case provider.PageDone:
		tpl = s.pages.back
		fields, err := s.returnFields(m, sess)
		if err != nil {
			return err
		}
		d.Fields, d.ReturnURL, d.Result = fields, sess.ReturnURL, resultText(t, sess.State())
		// Only an origin ReturnURL would accept reaches the policy; a
		// session stored before that rule keeps form-action 'self'.
		if origin, ok := provider.ReturnOrigin(sess.ReturnURL); ok {
			formAction += " " + origin
		}
	case provider.PageGone:
		tpl, status = s.pages.message, http.StatusGone
		d.Heading, d.Text = t.GoneTitle, t.GoneText
	}
	h.Set("Content-Security-Policy", pagePolicy(d.Nonce, formAction))
	return s.renderPage(c, status, tpl, d)
}

func (s *Server) renderPage(c echo.Context, status int, tpl *template.Template, d pageData) error {
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, d); err != nil {
		return provider.Wrap(provider.CodeInternal, "page", err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// throttledPage tells the shopper, in the session's language, that card
// attempts from here are paused, and when to try again.
func (s *Server) throttledPage(c echo.Context, sess *provider.Session, err error) error {
	lang, t := textsFor(sess.Locale)
	d := pageData{Lang: lang, T: t, Nonce: nonce(), Heading: t.TooManyTitle, Text: t.TooManyText}
	var pe *provider.Error
	if errors.As(err, &pe) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(retrySeconds(pe.RetryAfter)))
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Content-Security-Policy", pagePolicy(d.Nonce, "'none'"))
	s.noisyLogger(c).Info("card attempts throttled", zap.String("session_id", sess.ID))
	return s.renderPage(c, http.StatusTooManyRequests, s.pages.message, d)
}

// renderErrorPage is the hosted page's face of the HTTP error handler.
func (s *Server) renderErrorPage(c echo.Context, status int) {
	_, t := textsFor("")
	lang := "en"
	d := pageData{Lang: lang, T: t, Nonce: nonce()}
	switch status {
	case http.StatusNotFound:
		d.Heading, d.Text = t.NotFoundTitle, t.NotFoundText
	case http.StatusForbidden, http.StatusBadRequest:
		d.Heading, d.Text = t.FormExpiredTitle, t.FormExpiredText
	case http.StatusTooManyRequests:
		d.Heading, d.Text = t.TooManyTitle, t.TooManyText
	default:
		d.Heading, d.Text = t.ErrorTitle, t.ErrorText
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Content-Security-Policy", pagePolicy(d.Nonce, "'none'"))
	_ = s.renderPage(c, status, s.pages.message, d)
}

// returnFields are the signed fields of the POST back to Akinon, with a
// new salt every time the page is shown.
func (s *Server) returnFields(m *Merchant, sess *provider.Session) ([]formField, error) {
	salt, err := hashing.NewSalt()
	if err != nil {
		return nil, provider.Wrap(provider.CodeInternal, "salt", err)
	}
	st := sess.State()
	f := hashing.ReturnFields{
		Salt:          salt,
		OrderID:       sess.OrderID,
		SessionID:     sess.ID,
		TransactionID: sess.TransactionID,
		Amount:        sess.PaidAmount().String(),
		Installment:   strconv.Itoa(max(sess.Installment, 1)),
		Currency:      sess.Currency,
		Status:        string(st.Status),
		SubStatus:     string(st.SubStatus),
	}
	hash := m.HashScheme.SignReturn(m.HashKey, f)
	return []formField{
		{"salt", f.Salt}, {"orderId", f.OrderID}, {"sessionId", f.SessionID}, {"transactionId", f.TransactionID},
		{"amount", f.Amount}, {"installment", f.Installment}, {"currency", f.Currency},
		{"status", f.Status}, {"subStatus", f.SubStatus}, {"hash", hash},
	}, nil
}

// bankOrigin is the origin a Redirect's form goes to, for the page's
// form-action; a Redirect that is not an absolute http(s) URL is not
// followed.
func bankOrigin(r *provider.Redirect) (string, bool) {
	if r == nil || (r.Method != http.MethodPost && r.Method != http.MethodGet) {
		return "", false
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}

func installmentChoices(m *Merchant, sess *provider.Session, lang string, t *texts) []installmentChoice {
	var out []installmentChoice
	for _, n := range m.Installments(sess.Currency) {
		label := t.Single
		if n > 1 {
			total := sess.Amount.WithRate(m.InstallmentRates[n])
			label = fmt.Sprintf(t.Installments, n) + " (" + fmt.Sprintf(t.Interest, formatAmount(total, lang)+" "+sess.Currency) + ")"
		}
		out = append(out, installmentChoice{Count: n, Label: label})
	}
	return out
}

func resultText(t *texts, st provider.State) string {
	switch st.Status {
	case provider.StatusResolved:
		return t.Resolved
	case provider.StatusPending:
		return t.Pending
	}
	return t.Rejected
}

// formatAmount shows an amount the way the shopper reads it: 1.234,50 in
// Turkish, 1,234.50 in English.
func formatAmount(m provider.Money, lang string) string {
	s := m.String()
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			if lang == "tr" {
				b.WriteByte('.')
			} else {
				b.WriteByte(',')
			}
		}
		b.WriteRune(r)
	}
	if lang == "tr" {
		return b.String() + "," + frac
	}
	return b.String() + "." + frac
}

func pageName(p provider.PageState) string {
	switch p {
	case provider.PageForm:
		return "form"
	case provider.PageThreeDS:
		return "3ds"
	case provider.PageProcessing:
		return "processing"
	case provider.PageDone:
		return "done"
	}
	return "gone"
}

func nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}
