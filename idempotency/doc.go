// Package idempotency makes an Akinon call with a given guid run once and
// answer the same bytes every time after, as the contract asks: the first
// arrival claims the guid with a lease, a repeat while it runs is told to
// wait (409), a repeat after it is answered from the stored reply, and the
// same guid with another request is refused (422).
//
// The records live in Redis. The package gives them as Lua functions (Lua)
// so that a storage adapter claims a guid in the same script that
// reserves money. Fingerprint makes the request's identity; Parse reads
// what a script found.
package idempotency
