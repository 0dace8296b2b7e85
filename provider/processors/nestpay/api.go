package nestpay

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"

	"github.com/akinon-gateway/gateway/provider"
)

// Request is the XML API's CC5Request. Number carries the md of a 3D
// provision, never a card number: this adapter does not send cards to the API.
type Request struct {
	XMLName                 xml.Name `xml:"CC5Request"`
	Name                    string   `xml:"Name"`
	Password                string   `xml:"Password"`
	ClientID                string   `xml:"ClientId"`
	Type                    string   `xml:"Type,omitempty"`
	OrderID                 string   `xml:"OrderId"`
	Total                   string   `xml:"Total,omitempty"`
	Currency                string   `xml:"Currency,omitempty"`
	Taksit                  string   `xml:"Taksit,omitempty"`
	Number                  string   `xml:"Number,omitempty"`
	PayerTxnID              string   `xml:"PayerTxnId,omitempty"`
	PayerSecurityLevel      string   `xml:"PayerSecurityLevel,omitempty"`
	PayerAuthenticationCode string   `xml:"PayerAuthenticationCode,omitempty"`
	Mode                    string   `xml:"Mode,omitempty"`
	Extra                   Extra    `xml:"Extra"`
}

// Extra holds the request's extra fields: the order-status query, and the
// reference of an operation that may be repeated on one order (a Credit),
// which the bank keys its idempotency by.
type Extra struct {
	OrderStatus string `xml:"ORDERSTATUS,omitempty"`
	Reference   string `xml:"REFERENCE,omitempty"`
	Operation   string `xml:"OPERATION,omitempty"`
}

// Response is the XML API's CC5Response.
type Response struct {
	XMLName        xml.Name      `xml:"CC5Response"`
	OrderID        string        `xml:"OrderId"`
	Response       string        `xml:"Response"` // Approved, Declined or Error
	AuthCode       string        `xml:"AuthCode"`
	HostRefNum     string        `xml:"HostRefNum"`
	ProcReturnCode string        `xml:"ProcReturnCode"`
	TransID        string        `xml:"TransId"`
	ErrMsg         string        `xml:"ErrMsg"`
	Extra          ResponseExtra `xml:"Extra"`
}

// ResponseExtra is what the order-status query answers.
type ResponseExtra struct {
	TransStat string `xml:"TRANS_STAT"` // the order's (or the operation's) state, see inquiryStates
	Amount    string `xml:"AMOUNT"`     // the amount the bank recorded, in minor units
	OpCode    string `xml:"OP_RETURN_CODE"`
}

// The bank answers an order (or reference) it never received with
// ProcReturnCode 99 and an ErrMsg that starts "No record found"; 99 alone
// is any error, so both are required before "not received" is believed.
const (
	codeNoRecord = "99"
	msgNoRecord  = "No record found"
)

var errBadAnswer = errors.New("nestpay: unreadable answer from the bank")

// call posts one request to the XML API. An error before the request was
// written is ErrTransient (the bank certainly did nothing); any error after
// it may have acted.
func (p *Processor) call(ctx context.Context, req Request) (Response, error) {
	req.Name, req.Password, req.ClientID = p.s.APIUser, p.s.APIPassword, p.s.ClientID
	body, err := xml.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("nestpay: encode request: %w", err)
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(ctx, trace), p.timeout())
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, p.s.APIURL, bytes.NewReader(body))
	if err != nil {
		return Response{}, fmt.Errorf("nestpay: %w", err)
	}
	hr.Header.Set("Content-Type", "application/xml; charset=utf-8")
	resp, err := p.hc.Do(hr)
	if err != nil {
		if !wrote.Load() {
			return Response{}, fmt.Errorf("%w: nestpay %s %s not sent: %v", provider.ErrTransient, req.Type, req.OrderID, err)
		}
		return Response{}, fmt.Errorf("nestpay: %s %s: no answer after sending: %w", req.Type, req.OrderID, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Response{}, fmt.Errorf("nestpay: %s %s: answer cut off: %w", req.Type, req.OrderID, err)
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		return Response{}, fmt.Errorf("%w: nestpay answered 503", provider.ErrTransient)
	}
	var out Response
	if resp.StatusCode != http.StatusOK || xml.Unmarshal(raw, &out) != nil {
		return Response{}, fmt.Errorf("%w: %s %s: HTTP %d", errBadAnswer, req.Type, req.OrderID, resp.StatusCode)
	}
	return out, nil
}

// result maps an answer to the domain: only an explicit approval is
// Approved and only an explicit decline or error is Declined (Hyperswitch's
// rule); any other answer is an error, so the payment stays in doubt.
func result(r Response, processorID string) (provider.Result, error) {
	res := provider.Result{Code: r.ProcReturnCode, Detail: r.ErrMsg, ProcessorID: processorID}
	switch r.Response {
	case "Approved":
		res.Outcome, res.Detail = provider.Approved, "approved"
	case "Declined", "Error":
		res.Outcome = provider.Declined
		if res.Detail == "" {
			res.Detail = r.Response
		}
	default:
		return provider.Result{}, fmt.Errorf("%w: Response %q", errBadAnswer, r.Response)
	}
	return res, nil
}
