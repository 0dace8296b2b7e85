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
		TokenLookup:    "form:" + csrfField,
		CookieName:     "gw_csrf",
		CookiePath:     "/pay",
		CookieHTTPOnly: true,
		CookieSecure:   s.secure,
		CookieSameSite: http.SameSiteStrictMode,
	}))
	g.GET("/:sid", s.showPage)
	g.POST("/:sid", s.payCard)
	g.GET("/:sid/3ds", s.showPage)
	g.POST("/:sid/3ds", s.payThreeDS)
}

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

func (s *Server) payThreeDS(c echo.Context) error {
	sess, m, err := s.pageSession(c)
	if err != nil {
		return err
	}
	if sess.ID != c.Param(paramSession) {
		return s.show(c, m, s.svc.Page(&m.Merchant, c.Param(paramSession), sess))
	}
	v, err := s.svc.Authenticate(c.Request().Context(), &m.Merchant, sess, c.FormValue("code"))
	if err != nil {
		return err
	}
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
}

type installmentChoice struct {
	Count int
	Label string
}

type formField struct{ Name, Value string }

// show renders what the view calls for. A 3-D Secure challenge is shown
// at its own address, so the card form's POST is answered with a
// redirect (a reload then cannot post the card again).
func (s *Server) show(c echo.Context, m *Merchant, v provider.PageView) error {
	sess := v.Session
	lang, t := textsFor(sess.Locale)
	d := pageData{Lang: lang, T: t, Nonce: nonce(), Amount: formatAmount(sess.Amount, lang), Currency: sess.Currency}
	d.CSRF, _ = c.Get("csrf").(string)
	base := "/pay/" + url.PathEscape(sess.ID)
	onThreeDS := strings.HasSuffix(c.Path(), "/3ds")
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	formAction := "'self'"

	var tpl *template.Template
	status := http.StatusOK
	switch v.State {
	case provider.PageForm:
		if onThreeDS {
			return c.Redirect(http.StatusSeeOther, base)
		}
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
		if !onThreeDS {
			return c.Redirect(http.StatusSeeOther, base+"/3ds")
		}
		tpl, d.Action = s.pages.threeDS, base+"/3ds"
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
