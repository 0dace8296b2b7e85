package provider

import (
	"errors"
	"fmt"
	"time"
)

// Code names what went wrong in words a client can act on. The HTTP
// adapter maps each code to a status in one table; the domain never
// speaks HTTP.
type Code string

const (
	// The request could not be read or breaks a field rule.
	CodeMalformedJSON        Code = "malformed_json"
	CodeInvalidField         Code = "invalid_field"
	CodeBodyTooLarge         Code = "body_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeUnauthorized         Code = "unauthorized"
	CodeOrderNotFound        Code = "order_not_found"
	CodeSessionUnknown       Code = "session_not_found"

	// Idempotency.
	CodeRequestInProgress   Code = "request_in_progress"
	CodeIdempotencyReused   Code = "idempotency_key_reused"
	CodeOperationInProgress Code = "operation_in_progress"

	// Rules of the state machine.
	CodeOrderAlreadyPaid     Code = "order_already_paid"
	CodePaymentInProgress    Code = "payment_in_progress"
	CodeSessionNotPaid       Code = "session_not_paid"
	CodeSessionExpired       Code = "session_expired"
	CodeSessionRejected      Code = "session_rejected"
	CodeSessionVoided        Code = "session_voided"
	CodeAlreadyPurchased     Code = "already_purchased"
	CodeNotPurchased         Code = "not_purchased"
	CodeRefundsExist         Code = "refunds_exist"
	CodeAmountExceedsAuth    Code = "amount_exceeds_authorised"
	CodeAmountExceedsBalance Code = "amount_exceeds_balance"
	CodeCurrencyMismatch     Code = "currency_mismatch"

	// Operator endpoints.
	CodeEventNotFound Code = "event_not_found"
	CodeNotParked     Code = "event_not_parked"

	// The gateway itself.
	CodeThrottled        Code = "too_many_requests" // a throttle: retry after Retry-After
	CodeStoreUnavailable Code = "store_unavailable" // nothing reached the processor
	CodeOutcomeUnknown   Code = "outcome_unknown"   // the processor may have acted; the guid answers once settled
	CodeInternal         Code = "internal_error"
)

// Error is the one error type the domain returns to adapters. Message is
// safe to show a client; the wrapped Err is for the log only.
type Error struct {
	Code    Code
	Field   string // JSON path of the offending field, e.g. customer.email
	Message string
	// Session is the session's state after the error, when there is one;
	// the contract's error body reports it.
	Session *View
	// RetryAfter is how long a throttled client must wait.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a client-safe message.
func Errorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an Error around an internal cause whose text must not reach
// the client.
func Wrap(code Code, msg string, err error) *Error {
	return &Error{Code: code, Message: msg, Err: err}
}

// ErrorCode returns the Code carried by err, or CodeInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// FieldErrors is a validation failure naming every offending field; it is
// returned whole so a client fixes its request in one round.
type FieldErrors []*Error

func (fe FieldErrors) Error() string {
	if len(fe) == 0 {
		return "no field errors"
	}
	s := fe[0].Error()
	if len(fe) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(fe)-1)
	}
	return s
}

// ErrNotFound is what storage adapters wrap when a key does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnavailable is what storage adapters wrap when the store cannot be
// reached; the gateway then fails closed.
var ErrUnavailable = errors.New("store unavailable")

// ErrNotDurable is what storage adapters wrap when the store took a write
// but not enough replicas acknowledged it in time: it may vanish in a
// failover, so no answer may rest on it.
var ErrNotDurable = errors.New("write not durable")
