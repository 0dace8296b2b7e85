package hashing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of Standard Webhooks (https://www.standardwebhooks.com).
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// DefaultTolerance is how far webhook-timestamp may be from the receiver's
// clock, either way. It is the window the specification recommends: wide
// enough for clock skew and slow delivery, narrow enough that a captured
// request cannot be replayed much later.
const DefaultTolerance = 5 * time.Minute

// standardVersion marks the symmetric HMAC-SHA256 signature; other versions
// (such as asymmetric v1a) may share the header and are skipped.
const standardVersion = "v1"

// Errors returned by VerifyStandard. They never include key material.
var (
	ErrMissingWebhookID          = errors.New("hashing: missing webhook-id")
	ErrInvalidTimestamp          = errors.New("hashing: missing or malformed webhook-timestamp")
	ErrTimestampOutsideTolerance = errors.New("hashing: webhook-timestamp outside tolerance")
	ErrNoMatchingSignature       = errors.New("hashing: no matching webhook-signature")
)

// StandardSignature returns the webhook-signature header value
// "v1,<base64(HMAC-SHA256(key, id.timestamp.body))>", where timestamp is
// ts in unix seconds; the webhook-timestamp header must carry the same
// number, strconv.FormatInt(ts.Unix(), 10).
//
// key is the raw bytes of WEBHOOK_HASH_KEY. The specification's "whsec_"
// prefix with a base64 secret is not used: the gateway already has one
// configured webhook key per merchant and signs with it as written. A
// receiver on the official Standard Webhooks libraries, which decode their
// secret from base64, is given [StandardSecret] of the key, or uses their raw
// mode with the key's bytes.
func StandardSignature(key []byte, id string, ts time.Time, body []byte) string {
	return standardVersion + "," + standardSign(key, id, strconv.FormatInt(ts.Unix(), 10), body)
}

// StandardSecret returns WEBHOOK_HASH_KEY as the secret the official
// Standard Webhooks libraries take: "whsec_" followed by the standard base64
// (with padding) of the key's raw bytes. Those libraries strip the prefix and
// decode the rest, so they end up with the very bytes [StandardSignature]
// signs with:
//
//	wh, err := standardwebhooks.NewWebhook(hashing.StandardSecret(key))   // Go
//	const wh = new Webhook(secret);                                        // JavaScript (npm standardwebhooks)
//	printf 'whsec_%s\n' "$(printf '%s' "$WEBHOOK_HASH_KEY" | base64 -w0)" # the secret, in a shell
func StandardSecret(key string) string {
	return standardSecretPrefix + base64.StdEncoding.EncodeToString([]byte(key))
}

// standardSecretPrefix is how the specification marks a symmetric secret.
const standardSecretPrefix = "whsec_"

// VerifyStandard checks a Standard Webhooks request the way a receiver
// would. timestampHeader must be unix seconds within tolerance of now
// (a non-positive tolerance means DefaultTolerance); signatureHeader may hold
// several space-separated signatures, as the specification allows during key
// rotation, and any "v1," one that matches passes. key is the raw bytes of
// WEBHOOK_HASH_KEY, without the "whsec_" convention.
//
// The timestamp is checked first: the signed id and time are what make a
// replay detectable, and an old but validly signed request is exactly what a
// replay looks like.
func VerifyStandard(key []byte, id, timestampHeader, signatureHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	if id == "" {
		return ErrMissingWebhookID
	}
	sec, err := strconv.ParseInt(timestampHeader, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in whole seconds so that a huge header value cannot overflow
	// a time.Duration and slip through as "close enough".
	nowSec, tolSec := now.Unix(), int64(tolerance/time.Second)
	switch {
	case sec < nowSec-tolSec:
		return fmt.Errorf("%w: too old", ErrTimestampOutsideTolerance)
	case sec > nowSec+tolSec:
		return fmt.Errorf("%w: too far in the future", ErrTimestampOutsideTolerance)
	}

	want := []byte(standardSign(key, id, timestampHeader, body))
	matched := false
	for _, entry := range strings.Fields(signatureHeader) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != standardVersion {
			continue
		}
		// Keep looking after a match so the time taken does not say which
		// entry matched.
		if hmac.Equal(want, []byte(sig)) {
			matched = true
		}
	}
	if !matched {
		return ErrNoMatchingSignature
	}
	return nil
}

// standardSign takes the timestamp as header text rather than a number, so
// that a verifier covers exactly the bytes the sender wrote.
func standardSign(key []byte, id, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte("."))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
