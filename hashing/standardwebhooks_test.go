package hashing

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerifyStandard(t *testing.T) {
	v := mustLoadVectors(t, "standard")[0]
	key, body := []byte(v.Key), []byte(v.Body)
	sec, err := strconv.ParseInt(v.Timestamp, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Unix(sec, 0)
	otherSig := StandardSignature([]byte("whk_test_another_key_of_32_characters!"), v.ID, sent, body)

	cases := []struct {
		name      string
		key       []byte
		id        string
		timestamp string
		signature string
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{name: "valid", now: sent.Add(10 * time.Second)},
		{name: "valid, sent a little ahead of our clock", now: sent.Add(-30 * time.Second)},
		{name: "valid at exactly the tolerance, old side", now: sent.Add(DefaultTolerance)},
		{name: "valid at exactly the tolerance, future side", now: sent.Add(-DefaultTolerance)},
		{name: "non-positive tolerance means the default", now: sent.Add(4 * time.Minute), tolerance: -1},
		{name: "wrong key", key: []byte(v.Key + "x"), now: sent, want: ErrNoMatchingSignature},
		{name: "tampered body", body: []byte(strings.Replace(v.Body, "100.50", "900.50", 1)), now: sent, want: ErrNoMatchingSignature},
		{name: "body with trailing newline", body: append([]byte(v.Body), '\n'), now: sent, want: ErrNoMatchingSignature},
		{name: "other id", id: v.ID + "0", now: sent, want: ErrNoMatchingSignature},
		// A timestamp moved within the window still breaks the signature.
		{name: "other timestamp", timestamp: strconv.FormatInt(sec+1, 10), now: sent, want: ErrNoMatchingSignature},
		{name: "old timestamp", now: sent.Add(DefaultTolerance + time.Second), want: ErrTimestampOutsideTolerance},
		{name: "day-old replay", now: sent.Add(24 * time.Hour), want: ErrTimestampOutsideTolerance},
		{name: "future timestamp", now: sent.Add(-DefaultTolerance - time.Second), want: ErrTimestampOutsideTolerance},
		{name: "custom tolerance", now: sent.Add(2 * time.Minute), tolerance: time.Minute, want: ErrTimestampOutsideTolerance},
		{name: "far future timestamp", timestamp: "9223372036854775807", now: sent, want: ErrTimestampOutsideTolerance},
		{name: "far past timestamp", timestamp: "-9223372036854775808", now: sent, want: ErrTimestampOutsideTolerance},
		{name: "several signatures, one valid", signature: "v1,AAAA v1a,bm9wZQ== " + otherSig + " " + v.Signature, now: sent},
		{name: "valid one first", signature: v.Signature + " " + otherSig, now: sent},
		{name: "only the wrong key's signature", signature: otherSig, now: sent, want: ErrNoMatchingSignature},
		{name: "right value under another version", signature: "v1a," + strings.TrimPrefix(v.Signature, "v1,"), now: sent, want: ErrNoMatchingSignature},
		{name: "bare signature without version", signature: strings.TrimPrefix(v.Signature, "v1,"), now: sent, want: ErrNoMatchingSignature},
		{name: "garbage header", signature: "garbage,,, ===  v1 ,", now: sent, want: ErrNoMatchingSignature},
		{name: "comma-separated instead of spaces", signature: "v1,AAAA," + v.Signature, now: sent, want: ErrNoMatchingSignature},
		{name: "empty signature header", signature: " ", now: sent, want: ErrNoMatchingSignature},
		{name: "missing timestamp", timestamp: " ", now: sent, want: ErrInvalidTimestamp},
		{name: "timestamp not a number", timestamp: "2026-11-22T14:05:09+03:00", now: sent, want: ErrInvalidTimestamp},
		{name: "timestamp in milliseconds overflow", timestamp: "99999999999999999999", now: sent, want: ErrInvalidTimestamp},
		{name: "fractional timestamp", timestamp: v.Timestamp + ".5", now: sent, want: ErrInvalidTimestamp},
		{name: "missing id", id: " ", now: sent, want: ErrMissingWebhookID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, id, ts, sig, b := key, v.ID, v.Timestamp, v.Signature, body
			if tc.key != nil {
				k = tc.key
			}
			if tc.id != "" {
				id = strings.TrimSpace(tc.id)
			}
			if tc.timestamp != "" {
				ts = strings.TrimSpace(tc.timestamp)
			}
			if tc.signature != "" {
				sig = strings.TrimSpace(tc.signature)
			}
			if tc.body != nil {
				b = tc.body
			}
			tol := DefaultTolerance
			if tc.tolerance != 0 {
				tol = tc.tolerance
			}
			err := VerifyStandard(k, id, ts, sig, b, tc.now, tol)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("VerifyStandard: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyStandard = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), v.Key) {
				t.Errorf("error %q reveals the key", err)
			}
		})
	}
}

func TestStandardSignatureRoundTrip(t *testing.T) {
	key := []byte("whk_test_Z8n4Kp2Qr7Vt1Xy5Bc9Dm3Fg6Hj0Lw4S")
	body := []byte(`{"eventId":"evt_1"}`)
	// Sub-second parts are not sent, so they must not change the signature.
	ts := time.Date(2026, 11, 22, 14, 5, 9, 987654321, time.FixedZone("+03", 3*3600))
	sig := StandardSignature(key, "evt_1", ts, body)
	if !strings.HasPrefix(sig, "v1,") {
		t.Fatalf("signature %q lacks the v1 prefix", sig)
	}
	if again := StandardSignature(key, "evt_1", ts.Truncate(time.Second), body); again != sig {
		t.Errorf("sub-second time changed the signature: %s vs %s", sig, again)
	}
	header := strconv.FormatInt(ts.Unix(), 10)
	if err := VerifyStandard(key, "evt_1", header, sig, body, ts, DefaultTolerance); err != nil {
		t.Errorf("VerifyStandard: %v", err)
	}
}

func TestStandardErrorsAreDistinct(t *testing.T) {
	errs := []error{ErrMissingWebhookID, ErrInvalidTimestamp, ErrTimestampOutsideTolerance, ErrNoMatchingSignature}
	for i, a := range errs {
		for j, b := range errs {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v matches %v", a, b)
			}
		}
	}
}
