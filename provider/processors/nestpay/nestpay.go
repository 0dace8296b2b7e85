package nestpay

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
)

// Processor speaks NestPay for one merchant. It is stateless: the bank's
// order id is the payment's Reference, and the gateway's stored payment is
// what Complete checks the bank's return against.
type Processor struct {
	s  Settings
	hc *http.Client
}

var (
	_ provider.Processor = (*Processor)(nil)
	_ provider.Completer = (*Processor)(nil)
)

// New checks the settings and returns the merchant's processor.
func New(s Settings) (*Processor, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.StoreType == "" {
		s.StoreType = StoreType3D
	}
	return &Processor{s: s, hc: &http.Client{}}, nil
}

func (p *Processor) timeout() time.Duration {
	if p.s.Timeout > 0 {
		return p.s.Timeout
	}
	return DefaultTimeout
}

// Installments implements provider.Processor: the bank decides per card,
// and refuses a taksit it does not allow.
func (p *Processor) Installments(string) bool { return true }

// Authorise implements provider.Processor: it answers the form that takes
// the shopper to the bank's 3D gate. Nothing is sent to the bank yet.
func (p *Processor) Authorise(_ context.Context, req provider.AuthoriseRequest) (provider.Result, error) {
	currency, ok := currencyNumeric[req.Currency]
	if !ok {
		return refused("CURRENCY", "currency "+req.Currency+" is not offered by this store"), nil
	}
	if req.ReturnURL == "" {
		return refused("RETURN_URL", "no return URL for the bank"), nil
	}
	rnd, err := nonce()
	if err != nil {
		return provider.Result{}, fmt.Errorf("%w: nestpay: %v", provider.ErrTransient, err)
	}
	lang := "en"
	if req.Locale == "tr" {
		lang = "tr"
	}
	fields := []provider.FormField{
		{Name: "clientid", Value: p.s.ClientID},
		{Name: "storetype", Value: p.s.StoreType},
		{Name: "TranType", Value: tranType(req.Type)},
		{Name: "amount", Value: req.Amount.String()},
		{Name: "currency", Value: currency},
		{Name: "oid", Value: req.Reference},
		{Name: "okUrl", Value: req.ReturnURL},
		{Name: "failUrl", Value: req.ReturnURL},
		{Name: "lang", Value: lang},
		{Name: "rnd", Value: rnd},
		{Name: "taksit", Value: taksit(req.Installment)},
		{Name: "hashAlgorithm", Value: "ver3"},
		{Name: "pan", Value: req.Card.Number, Secret: true},
		{Name: "Ecom_Payment_Card_ExpDate_Month", Value: fmt.Sprintf("%02d", req.Card.ExpMonth), Secret: true},
		{Name: "Ecom_Payment_Card_ExpDate_Year", Value: fmt.Sprintf("%02d", req.Card.ExpYear%100), Secret: true},
		{Name: "cv2", Value: req.Card.CVC, Secret: true},
	}
	signed := make(map[string]string, len(fields))
	for _, f := range fields {
		signed[f.Name] = f.Value
	}
	fields = append(fields, provider.FormField{Name: "hash", Value: hashing.NestPayV3(p.s.StoreKey, signed)})
	return provider.Result{Outcome: provider.Challenge, Code: "3D", Detail: "3-D Secure at the bank",
		ProcessorID: req.Reference, Redirect: &provider.Redirect{Method: http.MethodPost, URL: p.s.GateURL, Fields: fields}}, nil
}

// Capture implements provider.Processor (PostAuth).
func (p *Processor) Capture(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.operate(ctx, provider.OpCapture, "PostAuth", req, req.Amount.String())
}

// Void implements provider.Processor.
func (p *Processor) Void(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.operate(ctx, provider.OpVoid, "Void", req, "")
}

// Refund implements provider.Processor (Credit).
func (p *Processor) Refund(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.operate(ctx, provider.OpRefund, "Credit", req, req.Amount.String())
}

func (p *Processor) operate(ctx context.Context, op provider.Operation, typ string, req provider.OperationRequest, total string) (provider.Result, error) {
	r := Request{Type: typ, OrderID: req.ProcessorID, Total: total, Extra: Extra{Reference: req.Reference, Operation: string(op)}}
	if total != "" {
		currency, ok := currencyNumeric[req.Currency]
		if !ok {
			return refused("CURRENCY", "currency "+req.Currency+" is not offered by this store"), nil
		}
		r.Currency = currency
	}
	answer, err := p.call(ctx, r)
	if err != nil {
		return provider.Result{}, err
	}
	return result(answer, req.ProcessorID)
}

// Status implements provider.Processor: the payment as the bank holds it.
func (p *Processor) Status(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	in, err := p.Inquire(ctx, provider.InquiryRequest{Operation: provider.OpAuthorise, Reference: req.ProcessorID, ProcessorID: req.ProcessorID})
	if err != nil {
		return provider.Result{}, err
	}
	if !in.Received {
		return refused("NOT_RECEIVED", "the bank never received the payment"), nil
	}
	return in.Result, nil
}

// tranType is PreAuth for both payment types: the gateway confirms a SALE
// with a purchase that captures, as it captures an AUTH, so the bank holds
// the money until then; an Auth (a sale at the bank) would take it before
// Akinon confirms and leave the purchase's PostAuth nothing to capture.
func tranType(provider.PaymentType) string { return "PreAuth" }

// taksit is the installment count as the bank wants it: empty for one.
func taksit(n int) string {
	if n <= 1 {
		return ""
	}
	return strconv.Itoa(n)
}

func refused(code, detail string) provider.Result {
	return provider.Result{Outcome: provider.Declined, Code: code, Detail: detail}
}

func nonce() (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
