// Package hashing signs and verifies what the gateway sends outside its own
// process, so that a receiver can tell the message came from us and was not
// changed on the way.
//
// Three things are signed, each with its own key:
//
//   - The return-url POST. When the shopper leaves the hosted payment page the
//     browser carries the outcome to Akinon's returnUrl. The browser is not
//     trusted, so the fields travel with a hash made from HASH_KEY over
//     salt|orderId|sessionId|transactionId|amount|installment|currency|status|subStatus.
//     A merchant chooses the scheme (see [Scheme]): HMAC-SHA512 by default, or
//     SHA-512 over the fields followed by the key, the style several Turkish
//     providers use. The return POST is informational; Akinon still confirms
//     with purchase/history.
//
//   - The webhook body. Late outcomes reach Akinon by webhook; the JSON body
//     carries a hash made with WEBHOOK_HASH_KEY over
//     salt|eventId|eventTimestamp|orderId|transactionId|amount|status|subStatus,
//     always HMAC-SHA512.
//
//   - The webhook request as a whole, following Standard Webhooks
//     (https://www.standardwebhooks.com): the webhook-id, webhook-timestamp and
//     webhook-signature headers sign the id, the time and the exact body bytes,
//     so receivers that already speak that specification can verify it and
//     refuse replays outside a time window. It uses the same WEBHOOK_HASH_KEY.
//
// In every field hash the values are UTF-8 strings written exactly as they
// appear in the message (amount with exactly two decimals, formatted by the
// caller), joined with "|", with the empty string for a missing value, and
// encoded as standard base64 with padding. The joined form is ambiguous if a
// value itself contains "|"; the contract accepts that because the fields are
// identifiers, amounts and status words, and the salt makes every message
// unique anyway.
//
// One more hash is not ours but a bank's: [NestPayV3], the ver3 hash of the
// NestPay virtual POS, over the 3D gate form the gateway sends and the fields
// the bank returns through the shopper's browser, keyed by the store key.
//
// A fresh [NewSalt] goes into every signed message so that two messages with
// the same fields never share a hash.
//
// Every comparison is constant time, and a malformed hash is simply not equal:
// verification never panics on what a client sends.
package hashing
