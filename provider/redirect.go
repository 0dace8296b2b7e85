package provider

import (
	"context"
	"strings"
)

// Redirect is where a processor sends the shopper's browser when Authorise
// answers Challenge with one (Hyperswitch's "redirect form"): a form to
// submit to the bank's 3-D Secure gate or the issuer's ACS, which sends the
// browser back to AuthoriseRequest.ReturnURL for Complete to finish.
//
// Its fields may carry the card (the NestPay "3D" model posts the number to
// the bank's gate), so a Redirect is rendered once into the shopper's page
// and never stored; its String and JSON forms mask every secret field.
type Redirect struct {
	Method string // POST or GET
	URL    string
	Fields []FormField
}

// FormField is one named value of a Redirect, in the order it is sent.
type FormField struct {
	Name   string
	Value  string
	Secret bool // card data: masked when printed
}

// String names the target and the fields, masking secrets.
func (r Redirect) String() string {
	var b strings.Builder
	b.WriteString(r.Method + " " + r.URL)
	for _, f := range r.Fields {
		v := f.Value
		if f.Secret {
			v = "***"
		}
		b.WriteString(" " + f.Name + "=" + v)
	}
	return b.String()
}

// GoString keeps %#v from printing secret fields.
func (r Redirect) GoString() string { return r.String() }

// MarshalJSON keeps encoders from printing secret fields.
func (r Redirect) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strings.NewReplacer(`"`, `\"`, `\`, `\\`).Replace(r.String()) + `"`), nil
}

// Completer is the part of the port for processors whose Authorise can
// answer with a Redirect (Hyperswitch's CompleteAuthorize): Complete takes
// what the bank sent back through the shopper's browser and finishes the
// payment. It is a port of its own, beside Processor, so processors without
// a redirect need not change.
//
// The returned fields come from the browser and are trusted only as far as
// the processor can verify them (the bank's hash): the amount, currency and
// type are the gateway's own, from CompleteRequest, never the browser's. A
// return that does not verify, or that names another payment, is Declined;
// an error means, as for Processor, that the bank may have acted.
type Completer interface {
	Complete(ctx context.Context, req CompleteRequest) (Result, error)
}

// CompleteRequest is a browser's return from the bank for one payment, with
// what the gateway stored when it asked Authorise.
type CompleteRequest struct {
	Reference   string // the Authorise request's
	Type        PaymentType
	Amount      Money
	Currency    string
	Installment int
	Fields      map[string]string // as the browser posted them
}
