package commerce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Endpoints of the gateway that Commerce calls.
const (
	EndpointStartSession = "/start-session"
	EndpointPurchase     = "/purchase"
	EndpointVoid         = "/void"
	EndpointRefund       = "/refund"
	EndpointHistory      = "/history"
)

// Headers of the contract.
const (
	HeaderRequestID  = "x-akinon-request-id"
	HeaderAPIVersion = "x-akinon-api-version"
	HeaderReplayed   = "Idempotent-Replayed"
)

// APIVersion is what Commerce puts in version and x-akinon-api-version.
const APIVersion = "1.0"

// Gateway calls the payment extension the way Akinon Commerce does: POST,
// JSON, Basic auth, a request id on every call.
type Gateway struct {
	BaseURL  string // without a trailing slash
	Username string
	Password string
	Client   *http.Client
	// Observe, when set, sees every exchange once it is over: the
	// recorder and the load statistics hang here. It must be safe for
	// concurrent use.
	Observe func(*Exchange)
}

// Exchange is one call as it went over the wire.
type Exchange struct {
	Start     time.Time
	Endpoint  string
	RequestID string
	Request   []byte
	Status    int
	Header    http.Header
	Body      []byte
	Duration  time.Duration
	Err       error // transport failure; Status is 0
}

// Replayed reports whether the gateway answered from its idempotency
// store.
func (x *Exchange) Replayed() bool { return x.Header.Get(HeaderReplayed) == "true" }

// Call sends body as is to an endpoint. It is the raw form the typed calls
// and the replay use.
func (g *Gateway) Call(ctx context.Context, endpoint string, body []byte, requestID string) *Exchange {
	if requestID == "" {
		requestID = uuid.NewString()
	}
	x := &Exchange{Start: time.Now(), Endpoint: endpoint, RequestID: requestID, Request: body, Header: http.Header{}}
	defer func() {
		x.Duration = time.Since(x.Start)
		if g.Observe != nil {
			g.Observe(x)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(g.BaseURL, "/")+endpoint, bytes.NewReader(body))
	if err != nil {
		x.Err = err
		return x
	}
	req.SetBasicAuth(g.Username, g.Password)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(HeaderRequestID, requestID)
	req.Header.Set(HeaderAPIVersion, APIVersion)
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		x.Err = err
		return x
	}
	defer resp.Body.Close()
	x.Status, x.Header = resp.StatusCode, resp.Header
	x.Body, x.Err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return x
}

// post marshals a request, sends it and decodes a 200 answer into out.
// Any other answer is a *CallError carrying the contract's error body.
func (g *Gateway) post(ctx context.Context, endpoint string, in, out any) (*Exchange, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	x := g.Call(ctx, endpoint, body, "")
	if x.Err != nil {
		return x, fmt.Errorf("gateway %s: %w", endpoint, x.Err)
	}
	if x.Status != http.StatusOK {
		ce := &CallError{Endpoint: endpoint, Status: x.Status, Raw: x.Body}
		_ = json.Unmarshal(x.Body, &ce.Body)
		return x, ce
	}
	if err := json.Unmarshal(x.Body, out); err != nil {
		return x, fmt.Errorf("gateway %s: answer is not the contract's JSON: %w", endpoint, err)
	}
	return x, nil
}

// CallError is a non-200 answer of the gateway.
type CallError struct {
	Endpoint string
	Status   int
	Body     ErrorResponse
	Raw      []byte
}

func (e *CallError) Error() string {
	if len(e.Body.Errors) == 0 {
		return fmt.Sprintf("gateway %s: HTTP %d: %.200s", e.Endpoint, e.Status, e.Raw)
	}
	first := e.Body.Errors[0]
	msg := fmt.Sprintf("gateway %s: HTTP %d %s", e.Endpoint, e.Status, first.Code)
	if first.Field != "" {
		msg += " (" + first.Field + ")"
	}
	return msg + ": " + first.Message
}

// Code is the first error code of the body.
func (e *CallError) Code() string {
	if len(e.Body.Errors) == 0 {
		return ""
	}
	return e.Body.Errors[0].Code
}

// Customer is start-session's customer object.
type Customer struct {
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
	Email       string `json:"email"`
	ClientIP    string `json:"clientIp,omitempty"`
}

// StartSessionRequest opens a payment session for an order.
type StartSessionRequest struct {
	Version     string   `json:"version"`
	GUID        string   `json:"guid"`
	OrderID     string   `json:"orderId"`
	OrderAmount Amount   `json:"orderAmount"`
	Locale      string   `json:"locale"`
	ReturnURL   string   `json:"returnUrl"`
	Type        string   `json:"type"`
	Currency    string   `json:"currency"`
	Customer    Customer `json:"customer"`
}

// StartSessionResponse tells Commerce where to send the shopper.
type StartSessionResponse struct {
	Type           string `json:"type"`
	RedirectURL    string `json:"redirectUrl"`
	RedirectMethod string `json:"redirectMethod"`
	SessionID      string `json:"sessionId"`
	TransactionID  string `json:"transactionId"`
}

// PurchaseRequest captures an AUTH (OrderAmount: all or part) or confirms
// a SALE.
type PurchaseRequest struct {
	Version     string  `json:"version"`
	GUID        string  `json:"guid"`
	OrderID     string  `json:"orderId"`
	OrderAmount *Amount `json:"orderAmount,omitempty"`
}

// VoidRequest cancels an authorisation or reverses a purchase.
type VoidRequest struct {
	Version string `json:"version"`
	GUID    string `json:"guid"`
	OrderID string `json:"orderId"`
}

// RefundRequest gives money back.
type RefundRequest struct {
	Version  string `json:"version"`
	GUID     string `json:"guid"`
	OrderID  string `json:"orderId"`
	Amount   Amount `json:"amount"`
	Currency string `json:"currency"`
}

// HistoryRequest reads an order's steps, optionally filtered.
type HistoryRequest struct {
	Version       string `json:"version"`
	GUID          string `json:"guid"`
	OrderID       string `json:"orderId"`
	Type          string `json:"type,omitempty"`
	TransactionID string `json:"transactionId,omitempty"`
	Status        string `json:"status,omitempty"`
	SubStatus     string `json:"subStatus,omitempty"`
}

// OperationResponse is the answer of purchase, void and refund.
type OperationResponse struct {
	TransactionID string `json:"transactionId"`
	Status        string `json:"status"`
	SubStatus     string `json:"subStatus"`
}

// ErrorResponse is the contract's error body.
type ErrorResponse struct {
	TransactionID string `json:"transactionId"`
	Status        string `json:"status"`
	SubStatus     string `json:"subStatus"`
	Errors        []struct {
		Code    string `json:"code"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// HistoryResponse is an order's history. The contract spells the top
// sub-status "substatus".
type HistoryResponse struct {
	LastAction string        `json:"lastAction"`
	Status     string        `json:"status"`
	Substatus  string        `json:"substatus"`
	Balance    Amount        `json:"balance"`
	Currency   string        `json:"currency"`
	Steps      []HistoryStep `json:"paymentTransactionHistory"`
}

// HistoryStep is one step of the history.
type HistoryStep struct {
	GUID          string    `json:"guid"`
	Type          string    `json:"type"`
	Timestamp     string    `json:"timestamp"`
	StatusCode    string    `json:"statusCode"`
	SubStatusCode string    `json:"subStatusCode"`
	StatusDetail  string    `json:"statusDetail"`
	SubSteps      []SubStep `json:"subSteps"`
}

// SubStep is one attempt between the gateway and its processor.
type SubStep struct {
	Timestamp    string `json:"timestamp"`
	StatusCode   string `json:"statusCode"`
	StatusDetail string `json:"statusDetail"`
}

// StartSession calls start-session.
func (g *Gateway) StartSession(ctx context.Context, r StartSessionRequest) (StartSessionResponse, *Exchange, error) {
	return call[StartSessionResponse](ctx, g, EndpointStartSession, r)
}

// Purchase calls purchase.
func (g *Gateway) Purchase(ctx context.Context, r PurchaseRequest) (OperationResponse, *Exchange, error) {
	return call[OperationResponse](ctx, g, EndpointPurchase, r)
}

// Void calls void.
func (g *Gateway) Void(ctx context.Context, r VoidRequest) (OperationResponse, *Exchange, error) {
	return call[OperationResponse](ctx, g, EndpointVoid, r)
}

// Refund calls refund.
func (g *Gateway) Refund(ctx context.Context, r RefundRequest) (OperationResponse, *Exchange, error) {
	return call[OperationResponse](ctx, g, EndpointRefund, r)
}

// History calls history.
func (g *Gateway) History(ctx context.Context, r HistoryRequest) (HistoryResponse, *Exchange, error) {
	return call[HistoryResponse](ctx, g, EndpointHistory, r)
}

// call posts one of the five calls and decodes its answer as Out.
func call[Out any](ctx context.Context, g *Gateway, endpoint string, r any) (Out, *Exchange, error) {
	var out Out
	x, err := g.post(ctx, endpoint, r, &out)
	return out, x, err
}

// NewGUID is a fresh idempotency key.
func NewGUID() string { return uuid.NewString() }
