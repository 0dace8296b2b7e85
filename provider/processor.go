package provider

import (
	"context"
	"errors"
	"time"
)

// Processor is the payment company's link to its bank or acquirer. Every
// call carries a Reference derived from the Akinon guid (or the session for
// the shopper's payment), and a processor must treat a repeated Reference
// as the same operation: that is what keeps a crash between the processor
// call and the stored response from charging twice.
//
// A method returns a Result for every answer the bank gave, declines
// included. An error means no answer: ErrTransient when the bank certainly
// did nothing (the request was never sent, or the bank said so), any other
// error when it may have acted (a timeout after sending); the gateway then
// asks Inquire before it records anything.
type Processor interface {
	Authorise(ctx context.Context, req AuthoriseRequest) (Result, error)
	Capture(ctx context.Context, req OperationRequest) (Result, error)
	Void(ctx context.Context, req OperationRequest) (Result, error)
	Refund(ctx context.Context, req OperationRequest) (Result, error)
	// Status asks again about a payment that was left Pending.
	Status(ctx context.Context, req OperationRequest) (Result, error)
	// Inquire asks what became of a reference: the bank's record of the
	// operation, or that it never received it. "Not received" is final:
	// the processor refuses that reference from then on (a bank adapter
	// sends a reversal of it), so a request that arrives late cannot move
	// money the gateway has already settled as not moved.
	Inquire(ctx context.Context, req InquiryRequest) (Inquiry, error)
	// Installments reports whether a card, by its BIN, may be paid in
	// installments.
	Installments(bin string) bool
}

// ErrTransient marks a processor failure that did nothing and may be
// retried with the same Reference (a timeout before sending, a 503).
var ErrTransient = errors.New("processor: transient failure")

// Outcome is what the processor decided.
type Outcome string

const (
	Approved  Outcome = "APPROVED"
	Declined  Outcome = "DECLINED"
	Fraud     Outcome = "FRAUD"
	Pending   Outcome = "PENDING"
	Challenge Outcome = "CHALLENGE"
)

// Result is a processor's answer. Code and Detail are the processor's own
// words; they are shown in history sub-steps.
type Result struct {
	Outcome     Outcome
	Code        string
	Detail      string
	ProcessorID string    // the processor's payment id, used for later operations
	ChallengeID string    // for Challenge: the attempt the bank's return must name (the service sets it)
	ResolveAt   time.Time // for Pending: when Status is worth asking
	// Redirect, for Challenge, takes the shopper's browser to the bank;
	// the payment is finished by Completer.Complete. Never stored.
	Redirect *Redirect
}

// Card is the shopper's card. It lives only in memory for the length of
// one Authorise call; its String and JSON forms are masked so a stray log
// line or error can never carry the number, expiry or cvc.
type Card struct {
	Holder   string
	Number   string
	ExpMonth int
	ExpYear  int // four digits
	CVC      string
}

// BIN is the first six digits, which may be stored.
func (c Card) BIN() string {
	if len(c.Number) < 6 {
		return ""
	}
	return c.Number[:6]
}

// Last4 is the last four digits, which may be stored.
func (c Card) Last4() string {
	if len(c.Number) < 4 {
		return ""
	}
	return c.Number[len(c.Number)-4:]
}

// String masks everything but BIN and last four.
func (c Card) String() string { return "card " + c.BIN() + "******" + c.Last4() }

// GoString keeps %#v from printing the fields.
func (c Card) GoString() string { return c.String() }

// MarshalJSON keeps encoders from printing the fields.
func (c Card) MarshalJSON() ([]byte, error) { return []byte(`"` + c.String() + `"`), nil }

// AuthoriseRequest asks for the shopper's payment: a sale or a hold.
type AuthoriseRequest struct {
	Reference   string
	Type        PaymentType
	Amount      Money // interest included
	Currency    string
	Installment int
	Card        Card
	// ReturnURL is where a bank that redirects the shopper sends the
	// browser back: the gateway's return URL for this attempt.
	ReturnURL string
	Locale    string // the page language the shopper reads, e.g. "tr"
}

// Operation names a processor call, for inquiries and the bank's ledger.
type Operation string

const (
	OpAuthorise    Operation = "authorise"
	OpAuthenticate Operation = "authenticate"
	OpCapture      Operation = "capture"
	OpVoid         Operation = "void"
	OpRefund       Operation = "refund"
)

// InquiryRequest asks about one earlier call.
type InquiryRequest struct {
	Operation   Operation
	Reference   string
	ProcessorID string // the payment's id at the processor, when known
}

// Inquiry is the processor's record of a reference.
type Inquiry struct {
	Received bool   // false: the bank never acted on it, and now never will
	Result   Result // what the bank answered, when Received
	Amount   Money  // the amount the bank recorded, when Received
}

// OperationRequest acts on an earlier payment.
type OperationRequest struct {
	Reference   string // derived from the guid of the Akinon call
	ProcessorID string
	Amount      Money
	Currency    string
}
