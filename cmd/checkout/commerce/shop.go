package commerce

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/akinon-gateway/gateway/hashing"
)

// Paths of the shop.
const (
	PathCheckout = "/orders/checkout/"
	PathReturn   = "/orders/redirection/return/"
	PathWebhook  = "/orders/hooks/payment"
	cookieName   = "osessionid"
)

//go:embed templates/checkout.html
var templateFS embed.FS

var checkoutHTML = template.Must(template.ParseFS(templateFS, "templates/checkout.html"))

// Config configures a Shop.
type Config struct {
	Gateway   *Gateway
	PublicURL string // how shoppers and the gateway reach the shop, no trailing slash
	// HashKey and HashScheme verify the return POST; WebhookHashKey
	// verifies webhooks (both their hash and their Standard Webhooks
	// signature). An empty WebhookHashKey refuses every webhook.
	HashKey        string
	HashScheme     hashing.Scheme
	WebhookHashKey string
	// OrderPrefix starts every order number, so runs against one gateway
	// never share an orderId.
	OrderPrefix string
	Logf        func(format string, args ...any)
	Now         func() time.Time
}

// WebhookStats counts what the webhook endpoint received.
type WebhookStats struct {
	Received   int // requests
	Applied    int // verified, new events
	Duplicates int // verified events already seen
	Refused    int // bad signature, bad hash or bad body
	Unmatched  int // verified events for orders this shop does not know
}

// Shop is Akinon Commerce's checkout, return URL and webhook endpoint.
type Shop struct {
	cfg Config
	mux *http.ServeMux

	mu       sync.Mutex
	seq      int
	byToken  map[string]*Order
	byNumber map[string]*Order
	events   map[string]bool
	stats    WebhookStats
	// statsChanged is closed and replaced whenever stats change.
	statsChanged chan struct{}
}

var _ http.Handler = (*Shop)(nil)

// NewShop returns a shop with no orders.
func NewShop(cfg Config) *Shop {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Shop{cfg: cfg, mux: http.NewServeMux(),
		byToken: map[string]*Order{}, byNumber: map[string]*Order{}, events: map[string]bool{},
		statsChanged: make(chan struct{})}
	s.mux.HandleFunc("GET /checkout-with-token/{token}", s.enterCheckout)
	s.mux.HandleFunc("GET /checkout-with-token/{token}/status/", s.checkoutStatus)
	s.mux.HandleFunc(PathCheckout, s.checkout)
	s.mux.HandleFunc("POST "+PathReturn, s.receiveReturn)
	s.mux.HandleFunc("POST "+PathWebhook, s.receiveWebhook)
	s.mux.HandleFunc("GET /completed/{number}", s.completed)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Gateway is the gateway client the shop calls.
func (s *Shop) Gateway() *Gateway { return s.cfg.Gateway }

// PublicURL is the shop's base URL.
func (s *Shop) PublicURL() string { return s.cfg.PublicURL }

// ReturnURL is the returnUrl the shop gives start-session.
func (s *Shop) ReturnURL() string { return s.cfg.PublicURL + PathReturn }

// WebhookURL is where the gateway's WEBHOOK_URL should point.
func (s *Shop) WebhookURL() string { return s.cfg.PublicURL + PathWebhook }

// WebhookStats returns the webhook counters.
func (s *Shop) WebhookStats() WebhookStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// NewOrder puts a basket into checkout and returns its order; the shopper
// starts at CheckoutURL.
func (s *Shop) NewOrder(spec OrderSpec) *Order {
	if spec.Locale == "" {
		spec.Locale = "en"
	}
	if spec.Type == "" {
		spec.Type = Sale
	}
	if spec.ProductName == "" {
		spec.ProductName = "Linen shirt"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	o := newOrder(s.seq, fmt.Sprintf("%s%04d", s.cfg.OrderPrefix, s.seq), uuid.NewString(), spec)
	s.byToken[o.Token], s.byNumber[o.Number] = o, o
	return o
}

// Order finds an order by number.
func (s *Shop) Order(number string) *Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byNumber[number]
}

// CheckoutURL is where a shopper enters the checkout of an order.
func (s *Shop) CheckoutURL(o *Order) string {
	return s.cfg.PublicURL + "/checkout-with-token/" + o.Token
}

func (s *Shop) enterCheckout(w http.ResponseWriter, r *http.Request) {
	o := s.orderByToken(r.PathValue("token"))
	if o == nil {
		http.NotFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: o.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, PathCheckout+"?page="+PagePaymentOptionSelection, http.StatusFound)
}

func (s *Shop) checkoutStatus(w http.ResponseWriter, r *http.Request) {
	o := s.orderByToken(r.PathValue("token"))
	if o == nil {
		http.NotFound(w, r)
		return
	}
	v := o.View()
	writeJSON(w, http.StatusOK, map[string]any{"order_number": v.Number, "status": v.Status, "session_id": v.SessionID})
}

func (s *Shop) orderByToken(token string) *Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byToken[token]
}

// orderOf is the order of the shopper's osessionid cookie.
func (s *Shop) orderOf(r *http.Request) *Order {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	return s.orderByToken(c.Value)
}

// checkout is /orders/checkout/?page=…: GET shows a page, POST submits it.
func (s *Shop) checkout(w http.ResponseWriter, r *http.Request) {
	o := s.orderOf(r)
	if o == nil {
		s.render(w, r, http.StatusUnauthorized, nil, &Page{TemplateName: templateName,
			Errors: map[string][]string{"non_field_errors": {"No checkout in progress: open the checkout_url first."}}})
		return
	}
	page := r.URL.Query().Get("page")
	switch {
	case r.Method == http.MethodPost && page == PagePaymentOptionSelection:
		s.selectOption(w, r, o)
	case r.Method == http.MethodGet:
		s.render(w, r, http.StatusOK, o, s.pageFor(o, page))
	default:
		s.render(w, r, http.StatusMethodNotAllowed, o, s.withErrors(o, PagePaymentOptionSelection,
			map[string][]string{"page": {fmt.Sprintf("%s is not allowed on %q.", r.Method, page)}}))
	}
}

// pageFor is the page an order can show: the one asked for when the order
// has reached it, else the page it is on.
func (s *Shop) pageFor(o *Order, asked string) *Page {
	v := o.View()
	current := PagePaymentOptionSelection
	switch {
	case v.Status.Paid() || v.Status == OrderWaitingPayment || v.Status == OrderCancelled:
		current = PageThankYou
	case v.Status == OrderRedirected:
		current = PageRedirectionPaymentSelected
	}
	name := current
	if asked == PagePaymentOptionSelection && current == PageRedirectionPaymentSelected {
		name = asked // the shopper came back from the bank without paying
	}
	return s.withErrors(o, name, v.Errors)
}

func (s *Shop) withErrors(o *Order, name string, errs map[string][]string) *Page {
	v := o.View()
	var ctx any
	switch name {
	case PageRedirectionPaymentSelected:
		ctx = RedirectionPaymentSelectedContext{RedirectURL: v.RedirectURL, RedirectMethod: http.MethodGet}
	case PageThankYou:
		ctx = ThankYouContext{RedirectURL: s.cfg.PublicURL + "/completed/" + o.Number, OrderID: o.PK,
			OrderNumber: o.Number, Token: o.Token, Campaigns: []Campaign{}}
	default:
		ctx = PaymentOptionSelectionContext{
			CheckoutURL:        s.CheckoutURL(o),
			StatusURL:          s.CheckoutURL(o) + "/status/",
			PaymentOptions:     []PaymentOption{redirectionOption},
			UnavailableOptions: unavailableOptions,
		}
	}
	if len(errs) == 0 {
		errs = nil
	}
	return newPage(name, ctx, errs, s.preOrder(o, v))
}

func (s *Shop) preOrder(o *Order, v OrderView) *PreOrder {
	total := o.Spec.Amount.String()
	p := &PreOrder{
		PK: o.PK,
		Basket: Basket{TotalAmount: total, TotalQuantity: 1, BasketItems: []BasketItem{{
			Product: Product{PK: 1, Name: o.Spec.ProductName, SKU: "SKU-0001"}, Quantity: 1,
			UnitPrice: total, TotalAmount: total}}},
		Currency:      strings.ToLower(o.Spec.Currency),
		TotalAmount:   total,
		UnpaidAmount:  total,
		IsRedirected:  v.RedirectURL != "",
		PaymentStatus: string(v.Status),
	}
	if v.SessionID != "" {
		opt := redirectionOption
		p.PaymentOption = &opt
	}
	if v.Installment > 0 {
		p.Installment = &Installment{InstallmentCount: v.Installment}
	}
	if v.Status.Paid() {
		p.UnpaidAmount = "0.00"
	}
	if v.Status.Paid() || v.Status == OrderWaitingPayment {
		n := o.Number
		p.OrderNumber = &n
	}
	return p
}

// selectOption takes payment_option; redirection starts a payment session
// at the gateway and answers with the page that sends the shopper there.
func (s *Shop) selectOption(w http.ResponseWriter, r *http.Request, o *Order) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, http.StatusBadRequest, o, s.withErrors(o, PagePaymentOptionSelection,
			map[string][]string{"non_field_errors": {"The form could not be read."}}))
		return
	}
	opt := r.PostForm.Get("payment_option")
	if opt != redirectionOption.Slug {
		s.render(w, r, http.StatusBadRequest, o, s.withErrors(o, PagePaymentOptionSelection,
			map[string][]string{"payment_option": {fmt.Sprintf("%q is not a valid choice.", opt)}}))
		return
	}
	if v := o.View(); v.Status.Paid() || v.Status == OrderWaitingPayment {
		s.render(w, r, http.StatusBadRequest, o, s.withErrors(o, PageThankYou,
			map[string][]string{"non_field_errors": {"This order is already paid."}}))
		return
	}
	if err := s.StartPayment(r.Context(), o); err != nil {
		s.render(w, r, http.StatusBadRequest, o, s.withErrors(o, PagePaymentOptionSelection,
			map[string][]string{"non_field_errors": {"The bank could not start the payment: " + err.Error()}}))
		return
	}
	s.render(w, r, http.StatusOK, o, s.withErrors(o, PageRedirectionPaymentSelected, nil))
}

// StartPayment calls start-session for an order.
func (s *Shop) StartPayment(ctx context.Context, o *Order) error {
	guid := NewGUID()
	resp, _, err := s.cfg.Gateway.StartSession(ctx, StartSessionRequest{
		Version: APIVersion, GUID: guid, OrderID: o.Number, OrderAmount: o.Spec.Amount,
		Locale: o.Spec.Locale, ReturnURL: s.ReturnURL(), Type: o.Spec.Type, Currency: o.Spec.Currency,
		Customer: o.Spec.Customer,
	})
	if err != nil {
		return err
	}
	if resp.RedirectURL == "" || resp.SessionID == "" {
		return fmt.Errorf("start-session answered without redirectUrl or sessionId")
	}
	o.update(func(v *OrderView) {
		v.Status, v.StartGUID, v.SessionID, v.TransactionID, v.RedirectURL = OrderRedirected, guid, resp.SessionID, resp.TransactionID, resp.RedirectURL
		v.Errors, v.Return, v.Purchase = nil, nil, nil
	})
	s.cfg.Logf("order %s: start-session %s → %s", o.Number, guid, resp.RedirectURL)
	return nil
}

func (s *Shop) completed(w http.ResponseWriter, r *http.Request) {
	o := s.Order(r.PathValue("number"))
	if o == nil || !(o.View().Status.Paid() || o.View().Status == OrderWaitingPayment) {
		http.NotFound(w, r)
		return
	}
	s.render(w, r, http.StatusOK, o, s.withErrors(o, PageThankYou, nil))
}

// render answers JSON to an XHR (as Akinon's storefront asks) and HTML to
// a browser; the HTML carries the same JSON.
func (s *Shop) render(w http.ResponseWriter, r *http.Request, status int, o *Order, p *Page) {
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) {
		writeJSON(w, status, p)
		return
	}
	raw, _ := json.Marshal(p)
	d := htmlPage{Name: p.Name(), Errors: p.Errors, JSON: template.JS(raw)}
	if o != nil {
		v := o.View()
		d.Order, d.Total, d.Currency, d.StatusText = v, o.Spec.Amount.String(), o.Spec.Currency, statusText(v.Status)
	}
	switch d.Name {
	case PagePaymentOptionSelection:
		_ = p.Decode(&d.Options)
	case PageRedirectionPaymentSelected:
		_ = p.Decode(&d.Redirect)
	case PageThankYou:
		_ = p.Decode(&d.ThankYou)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := checkoutHTML.Execute(w, d); err != nil {
		s.cfg.Logf("render %s: %v", d.Name, err)
	}
}

type htmlPage struct {
	Name       string
	Errors     map[string][]string
	JSON       template.JS
	Order      OrderView
	Total      string
	Currency   string
	StatusText string
	Options    PaymentOptionSelectionContext
	Redirect   RedirectionPaymentSelectedContext
	ThankYou   ThankYouContext
}

func statusText(s OrderStatus) string {
	switch s {
	case OrderCompleted:
		return "Payment received."
	case OrderAuthorised:
		return "Payment authorised."
	case OrderWaitingPayment:
		return "Waiting for the bank to confirm the payment."
	case OrderPurchaseFailed:
		return "Paid, but the purchase was refused: customer service will contact you."
	case OrderCancelled:
		return "Cancelled."
	case OrderRefunded, OrderPartlyRefunded:
		return "Refunded."
	}
	return ""
}

func wantsJSON(r *http.Request) bool {
	return r.Header.Get("X-Requested-With") == "XMLHttpRequest" ||
		strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
