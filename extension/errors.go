package extension

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/akinon-gateway/gateway/provider"
)

// Codes of the HTTP layer's own refusals (routing, anti-forgery).
const (
	codeNotFound         provider.Code = "not_found"
	codeMethodNotAllowed provider.Code = "method_not_allowed"
	codeForbidden        provider.Code = "forbidden"
)

// statusOf is the one table from domain codes to HTTP statuses.
var statusOf = map[provider.Code]int{
	provider.CodeMalformedJSON:        http.StatusBadRequest,
	provider.CodeInvalidField:         http.StatusBadRequest,
	provider.CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	provider.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	provider.CodeUnauthorized:         http.StatusUnauthorized,
	provider.CodeOrderNotFound:        http.StatusNotFound,
	provider.CodeSessionUnknown:       http.StatusNotFound,
	provider.CodeRequestInProgress:    http.StatusConflict,
	provider.CodeOperationInProgress:  http.StatusConflict,
	provider.CodeIdempotencyReused:    http.StatusUnprocessableEntity,
	provider.CodeOrderAlreadyPaid:     http.StatusUnprocessableEntity,
	provider.CodePaymentInProgress:    http.StatusUnprocessableEntity,
	provider.CodeSessionNotPaid:       http.StatusUnprocessableEntity,
	provider.CodeSessionExpired:       http.StatusUnprocessableEntity,
	provider.CodeSessionRejected:      http.StatusUnprocessableEntity,
	provider.CodeSessionVoided:        http.StatusUnprocessableEntity,
	provider.CodeAlreadyPurchased:     http.StatusUnprocessableEntity,
	provider.CodeNotPurchased:         http.StatusUnprocessableEntity,
	provider.CodeRefundsExist:         http.StatusUnprocessableEntity,
	provider.CodeAmountExceedsAuth:    http.StatusUnprocessableEntity,
	provider.CodeAmountExceedsBalance: http.StatusUnprocessableEntity,
	provider.CodeCurrencyMismatch:     http.StatusUnprocessableEntity,
	provider.CodeEventNotFound:        http.StatusNotFound,
	provider.CodeNotParked:            http.StatusConflict,
	provider.CodeThrottled:            http.StatusTooManyRequests,
	provider.CodeStoreUnavailable:     http.StatusServiceUnavailable,
	provider.CodeOutcomeUnknown:       http.StatusServiceUnavailable,
	provider.CodeInternal:             http.StatusInternalServerError,
	codeNotFound:                      http.StatusNotFound,
	codeMethodNotAllowed:              http.StatusMethodNotAllowed,
	codeForbidden:                     http.StatusForbidden,
}

// HTTPStatus maps a code; unknown codes are internal errors.
func HTTPStatus(c provider.Code) int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the contract's error body, exactly these keys.
type errorBody struct {
	TransactionID string        `json:"transactionId"`
	Status        string        `json:"status"`
	SubStatus     string        `json:"subStatus"`
	Errors        []errorDetail `json:"errors"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorReply renders any error as the contract's body and its status. It
// is used by the HTTP error handler and by the renderers of stored
// refusals, so a 422 reads the same whether fresh or replayed.
func errorReply(err error) (int, []byte) {
	list := toErrors(err)
	body := errorBody{Status: string(provider.StatusRejected), SubStatus: string(provider.SubProcessingError)}
	for _, e := range list {
		if e.Session != nil {
			body.TransactionID = e.Session.TransactionID
			body.Status, body.SubStatus = string(e.Session.State.Status), string(e.Session.State.SubStatus)
			break
		}
	}
	for _, e := range list {
		msg := e.Message
		if msg == "" {
			msg = http.StatusText(HTTPStatus(e.Code))
		}
		body.Errors = append(body.Errors, errorDetail{Code: string(e.Code), Field: e.Field, Message: msg})
	}
	b, _ := json.Marshal(body) // only strings
	return HTTPStatus(list[0].Code), b
}

// toErrors turns anything into domain errors: Echo's own (auth, routing,
// CSRF) get codes too, and unknown errors are internal,
// their text kept for the log only.
func toErrors(err error) []*provider.Error {
	var fe provider.FieldErrors
	if errors.As(err, &fe) && len(fe) > 0 {
		return fe
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return []*provider.Error{pe}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		var corrupt base64.CorruptInputError
		switch {
		case he.Code == http.StatusUnauthorized || errors.As(he.Internal, &corrupt):
			return []*provider.Error{provider.Errorf(provider.CodeUnauthorized, "", "valid Basic credentials are required")}
		case he.Code == http.StatusNotFound:
			return []*provider.Error{{Code: codeNotFound, Message: "no such endpoint"}}
		case he.Code == http.StatusMethodNotAllowed:
			return []*provider.Error{{Code: codeMethodNotAllowed, Message: "method not allowed"}}
		case he.Code == http.StatusForbidden:
			return []*provider.Error{{Code: codeForbidden, Message: "the form has expired; reload the page"}}
		case he.Code == http.StatusBadRequest:
			return []*provider.Error{provider.Errorf(provider.CodeInvalidField, "", "bad request")}
		}
	}
	return []*provider.Error{provider.Wrap(provider.CodeInternal, "internal error", err)}
}

// statusClientClosed is the access log's status of a request whose
// client hung up before the answer (nginx's 499).
const statusClientClosed = 499

// hungUp reports whether an error is the client going away: its request
// context cancelled, or its body cut short.
func hungUp(err error, c echo.Context) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	return c.Request().Context().Err() != nil && !errors.Is(err, context.DeadlineExceeded)
}

// handleError is the server's one HTTP error writer. The hosted page and
// the operator console get an HTML page, the operator's other paths
// (/admin) the operator's JSON body, everything else the contract's JSON
// body.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if hungUp(err, c) {
		// The client went away mid-request: nobody to answer, and not
		// the gateway's failure. Logged as 499, as proxies do.
		c.Response().Status = statusClientClosed
		s.logger(c).Info("client closed the connection", zap.NamedError("cause", err))
		return
	}
	status, body := errorReply(err)
	log := s.logger(c)
	switch {
	case status >= 500:
		log.Error("request failed", zap.Int("status", status), zap.Error(err))
	case status == http.StatusUnauthorized || status == http.StatusTooManyRequests:
		s.noisyLogger(c).Info("request refused", zap.Int("status", status), zap.String("code", string(toErrors(err)[0].Code)))
	default:
		log.Info("request refused", zap.Int("status", status), zap.String("code", string(toErrors(err)[0].Code)))
	}
	var pe *provider.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(retrySeconds(pe.RetryAfter)))
	}
	if isPage(c) {
		s.renderErrorPage(c, status)
		return
	}
	if s.console != nil && s.console.paths[c.Path()] {
		s.console.renderError(c, status, err)
		return
	}
	if underAdmin(c.Request().URL.Path) {
		_ = c.JSONBlob(status, operatorError(err))
		return
	}
	if status == http.StatusConflict {
		c.Response().Header().Set("Retry-After", "1")
	}
	if status == http.StatusUnauthorized && c.Response().Header().Get(echo.HeaderWWWAuthenticate) == "" {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="akinon"`)
	}
	_ = c.JSONBlob(status, body)
}

// operatorBody is the error body of the operator's paths: what went
// wrong, without the payment contract's fields, which mean nothing there.
type operatorBody struct {
	Error operatorDetail `json:"error"`
}

type operatorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// operatorError renders an error as the operator's body: the first
// error's code and message.
func operatorError(err error) []byte {
	e := toErrors(err)[0]
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(HTTPStatus(e.Code))
	}
	b, _ := json.Marshal(operatorBody{Error: operatorDetail{Code: string(e.Code), Message: msg}}) // only strings
	return b
}
