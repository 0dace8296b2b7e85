package provider

// refusals are the client-facing words for each rule of the state machine.
var refusals = map[Code]string{
	CodeOrderNotFound:        "no payment session exists for this order",
	CodeOrderAlreadyPaid:     "the order is already paid",
	CodePaymentInProgress:    "the shopper's payment for this order is in progress",
	CodeSessionNotPaid:       "the shopper has not completed the payment",
	CodeSessionExpired:       "the payment session expired unpaid",
	CodeSessionRejected:      "the payment was rejected",
	CodeSessionVoided:        "the payment was voided; only history is available",
	CodeAlreadyPurchased:     "the payment is already purchased",
	CodeNotPurchased:         "only a purchased payment can be refunded",
	CodeRefundsExist:         "a payment with refunds cannot be voided",
	CodeAmountExceedsAuth:    "orderAmount exceeds the authorised amount",
	CodeAmountExceedsBalance: "amount exceeds the refundable balance",
	CodeCurrencyMismatch:     "currency differs from the payment's currency",
	CodeOperationInProgress:  "another operation on this order is in progress; retry later",
	// A settled guid whose stored reply has expired (IDEMPOTENCY_TTL): its
	// operation is done and is not run again.
	CodeIdempotencyReused: "this guid was already used on this order and its reply has expired; the operation is not run again (use a new guid for a new operation)",
}

// refusalFields names the request field a refusal is about, when one is.
var refusalFields = map[Code]string{
	CodeOrderNotFound:        "orderId",
	CodeAmountExceedsAuth:    "orderAmount",
	CodeAmountExceedsBalance: "amount",
	CodeCurrencyMismatch:     "currency",
	CodeIdempotencyReused:    "guid",
}

// Refusal builds the error for a broken rule.
func Refusal(c Code) *Error {
	msg, ok := refusals[c]
	if !ok {
		msg = "the request is not allowed in the payment's current state"
	}
	return &Error{Code: c, Field: refusalFields[c], Message: msg}
}
