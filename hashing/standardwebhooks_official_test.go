package hashing_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/akinon-gateway/gateway/hashing"
)

// TestStandardSignatureOfficialVerifier checks that a receiver using the
// official Standard Webhooks Go library accepts what the gateway signs, with
// the key given either as StandardSecret(key) or in the library's raw mode,
// and refuses a changed body. It is the reason that library is a (test-only)
// dependency: the signing is ours, the verification is theirs.
func TestStandardSignatureOfficialVerifier(t *testing.T) {
	keys := map[string]string{
		"ascii key":  "webhook-key-test-0123456789abcdef012345",
		"utf-8 key":  "webhook-anahtarı-ğüşiöç-0123456789abcdef",
		"base64-ish": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MjQy",
	}
	id := "03997f1b-6c55-4a8e-9d3e-7f0c2f6b1a01"
	body := []byte(`{"eventId":"03997f1b-6c55-4a8e-9d3e-7f0c2f6b1a01","eventType":"PAYMENT_STATUS_CHANGED",` +
		`"eventTimestamp":"2026-11-23T11:09:57.666+03:00","orderId":"o-3","sessionId":"97ad1d1d","transactionId":"be9a60ca",` +
		`"status":"RESOLVED","subStatus":"RESOLVED","amount":250.00,"currency":"TRY","installment":1,"salt":"PjROxqMcTB","hash":"w959q5Ml"}`)
	tampered := []byte(strings.Replace(string(body), "250.00", "950.00", 1))

	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			// The official verifier checks the timestamp against its own clock.
			now := time.Now()
			headers := http.Header{}
			headers.Set(hashing.HeaderWebhookID, id)
			headers.Set(hashing.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
			headers.Set(hashing.HeaderWebhookSignature, hashing.StandardSignature([]byte(key), id, now, body))

			secret := hashing.StandardSecret(key)
			if want := "whsec_" + base64.StdEncoding.EncodeToString([]byte(key)); secret != want {
				t.Fatalf("StandardSecret = %q, want %q", secret, want)
			}
			withSecret, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				t.Fatalf("NewWebhook(StandardSecret(key)): %v", err)
			}
			withoutPrefix, err := standardwebhooks.NewWebhook(strings.TrimPrefix(secret, "whsec_"))
			if err != nil {
				t.Fatalf("NewWebhook(base64(key)): %v", err)
			}
			raw, err := standardwebhooks.NewWebhookRaw([]byte(key))
			if err != nil {
				t.Fatalf("NewWebhookRaw(key): %v", err)
			}

			for how, wh := range map[string]*standardwebhooks.Webhook{
				`NewWebhook("whsec_"+base64(key))`: withSecret,
				`NewWebhook(base64(key))`:          withoutPrefix,
				`NewWebhookRaw(key)`:               raw,
			} {
				if err := wh.Verify(body, headers); err != nil {
					t.Errorf("%s refuses the gateway's signature: %v", how, err)
				}
				if err := wh.Verify(tampered, headers); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
					t.Errorf("%s on a tampered body: %v, want ErrNoMatchingSignature", how, err)
				}
				// And the other way: what the library signs, we verify, and
				// it is the very header the gateway sends.
				sig, err := wh.Sign(id, now, body)
				if err != nil {
					t.Fatalf("%s Sign: %v", how, err)
				}
				if got := headers.Get(hashing.HeaderWebhookSignature); sig != got {
					t.Errorf("%s signs %s, the gateway %s", how, sig, got)
				}
				if err := hashing.VerifyStandard([]byte(key), id, strconv.FormatInt(now.Unix(), 10), sig, body, now, 0); err != nil {
					t.Errorf("VerifyStandard refuses what %s signed: %v", how, err)
				}
			}

			// The pitfall the README warns about: the key as written is not
			// the library's secret. It is either not base64 at all or decodes
			// to other bytes; either way nothing verifies.
			if wh, err := standardwebhooks.NewWebhook(key); err == nil {
				if err := wh.Verify(body, headers); err == nil {
					t.Errorf("NewWebhook(key) with the raw key verified; the README says it does not")
				}
			}
		})
	}
}
