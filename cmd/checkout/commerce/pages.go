package commerce

import "encoding/json"

// The checkout's page names (Akinon's page_name / page_slug).
const (
	PagePaymentOptionSelection     = "PaymentOptionSelectionPage"
	PageRedirectionPaymentSelected = "RedirectionPaymentSelectedPage"
	PageThankYou                   = "ThankYouPage"
)

// templateName is what every checkout answer names as its template.
const templateName = "orders/checkout.html"

// Page is one answer of /orders/checkout/: a list of page contexts, the
// template, the errors of the last post (null when none) and the
// pre-order.
type Page struct {
	ContextList  []PageContext       `json:"context_list"`
	TemplateName string              `json:"template_name"`
	Errors       map[string][]string `json:"errors"`
	PreOrder     *PreOrder           `json:"pre_order"`
}

// PageContext is one entry of context_list. The page_context differs per
// page, so it is kept as raw JSON and read with Decode.
type PageContext struct {
	PageContext json.RawMessage `json:"page_context"`
	PageName    string          `json:"page_name"`
	PageSlug    string          `json:"page_slug"`
}

// Name is the page of the answer: the last context's page_name.
func (p *Page) Name() string {
	if len(p.ContextList) == 0 {
		return ""
	}
	return p.ContextList[len(p.ContextList)-1].PageName
}

// Decode reads the last context's page_context into v.
func (p *Page) Decode(v any) error {
	if len(p.ContextList) == 0 {
		return json.Unmarshal([]byte("{}"), v)
	}
	return json.Unmarshal(p.ContextList[len(p.ContextList)-1].PageContext, v)
}

// PaymentOption is an option the shopper can choose.
type PaymentOption struct {
	PK               int    `json:"pk"`
	Name             string `json:"name"`
	Slug             string `json:"slug"`
	PaymentType      string `json:"payment_type"`
	PaymentTypeLabel string `json:"payment_type_label"`
}

// UnavailableOption is an option shown as unavailable, with the reason.
type UnavailableOption struct {
	Name             string `json:"name"`
	Slug             string `json:"slug"`
	PaymentType      string `json:"payment_type"`
	PaymentTypeLabel string `json:"payment_type_label"`
	ErrorCode        int    `json:"error_code"`
	ErrorMessage     string `json:"error_message"`
}

// PaymentOptionSelectionContext is PaymentOptionSelectionPage's
// page_context.
type PaymentOptionSelectionContext struct {
	CheckoutURL        string              `json:"checkout_url"`
	StatusURL          string              `json:"status_url"`
	PaymentOptions     []PaymentOption     `json:"payment_options"`
	UnavailableOptions []UnavailableOption `json:"unavailable_options"`
}

// RedirectionPaymentSelectedContext is RedirectionPaymentSelectedPage's
// page_context: where the shopper goes to pay.
type RedirectionPaymentSelectedContext struct {
	RedirectURL    string `json:"redirect_url"`
	RedirectMethod string `json:"redirect_method"`
}

// Campaign is a campaign applied to the order.
type Campaign struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ThankYouContext is ThankYouPage's page_context.
type ThankYouContext struct {
	RedirectURL string     `json:"redirect_url"`
	OrderID     int        `json:"order_id"`
	OrderNumber string     `json:"order_number"`
	NewUser     bool       `json:"new_user"`
	Token       string     `json:"token"`
	Campaigns   []Campaign `json:"campaigns"`
}

// PreOrder is the basket on its way to becoming an order. The seed elides
// it ({...}); these are the fields a redirection checkout reads. Amounts
// are decimal strings, as Commerce's API writes them.
type PreOrder struct {
	PK            int            `json:"pk"`
	Basket        Basket         `json:"basket"`
	Currency      string         `json:"currency"`
	TotalAmount   string         `json:"total_amount"`
	UnpaidAmount  string         `json:"unpaid_amount"`
	PaymentOption *PaymentOption `json:"payment_option"`
	Installment   *Installment   `json:"installment"`
	IsRedirected  bool           `json:"is_redirected"`
	OrderNumber   *string        `json:"order_number"`
	PaymentStatus string         `json:"payment_status"`
}

// Basket is the pre-order's basket.
type Basket struct {
	BasketItems   []BasketItem `json:"basketitem_set"`
	TotalAmount   string       `json:"total_amount"`
	TotalQuantity int          `json:"total_quantity"`
}

// BasketItem is one line of the basket.
type BasketItem struct {
	Product     Product `json:"product"`
	Quantity    int     `json:"quantity"`
	UnitPrice   string  `json:"unit_price"`
	TotalAmount string  `json:"total_amount"`
}

// Product is what a basket line sells.
type Product struct {
	PK   int    `json:"pk"`
	Name string `json:"name"`
	SKU  string `json:"sku"`
}

// Installment is the installment count the payment used.
type Installment struct {
	InstallmentCount int `json:"installment_count"`
}

// The payment options of the shop. Only redirection is served (by the
// gateway); the card form of Commerce itself is listed as unavailable so a
// reader of the page sees why.
var redirectionOption = PaymentOption{PK: 1, Name: "redirection", Slug: "redirection",
	PaymentType: "redirection", PaymentTypeLabel: "Redirect to Bank"}

var unavailableOptions = []UnavailableOption{{
	Name: "Credit Card", Slug: "credit_card", PaymentType: "credit_card", PaymentTypeLabel: "Credit Card",
	ErrorCode: 1000, ErrorMessage: "Card payments are taken on the bank's page: choose Redirect to Bank.",
}}

func newPage(name string, ctx any, errs map[string][]string, pre *PreOrder) *Page {
	raw, _ := json.Marshal(ctx) // typed contexts of strings and numbers
	return &Page{
		ContextList:  []PageContext{{PageContext: raw, PageName: name, PageSlug: name}},
		TemplateName: templateName,
		Errors:       errs,
		PreOrder:     pre,
	}
}
