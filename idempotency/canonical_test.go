package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// decodedFingerprint is the fingerprint made the way earlier versions
// made every one: the body decoded whole by encoding/json.
func decodedFingerprint(endpoint string, body []byte) (string, error) {
	var b bytes.Buffer
	b.WriteString(endpoint + "\n")
	if err := decodedCanonical(&b, body); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

var canonicalCorpus = []string{
	`{"version":"1.0","guid":"g-1","orderId":"o-1","orderAmount":120.5,"locale":"en","returnUrl":"https://shop.example/return?a=1&b=<2>","type":"SALE","currency":"TRY","customer":{"firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}}`,
	`{"b":1,"a":{"d":[true,false,null,[],{}],"c":"x"},"A":0}`,
	`{"a":-0}`, `{"a":-0.0}`, `{"a":0}`, `{"a":-12}`, `{"a":1e400}`, `{"a":1e-400}`, `{"a":100.500}`, `{"a":1005E-1}`,
	`{"a":"\u2028\u2029"}`, `{"a":"<&>"}`, `{"é":"ü"}`, `{"a":"\u0000\t\n\"\\/"}`, `{"a":"\ud83d\ude00"}`, "{\"a\":\"\x7f\"}",
	`"x"`, `1`, `null`, `[]`, `true`, ` [ 1 , "2" ] `,
	`{"a":1,"a":2}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, // not strict: read whole, as before
}

// TestStreamingMatchesDecoded: the token-by-token reading gives every
// body the fingerprint the whole decoding gave it, so a guid stored
// before still replays.
func TestStreamingMatchesDecoded(t *testing.T) {
	streamed := 0
	for _, body := range canonicalCorpus {
		want, err := decodedFingerprint("start-session", []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got, err := Fingerprint("start-session", []byte(body)); err != nil || got != want {
			t.Errorf("%s: fingerprint %s, %v; the decoded one is %s", body, got, err, want)
		}
		var b bytes.Buffer
		if streamCanonical(&b, []byte(body), nil) {
			streamed++
		}
	}
	if want := len(canonicalCorpus) - 3; streamed != want {
		t.Errorf("%d bodies read token by token, want %d (all but the three that are not strict)", streamed, want)
	}
}

// FuzzStreamingMatchesDecoded: for any body, Fingerprint refuses what
// the whole decoding refuses and otherwise agrees with it.
func FuzzStreamingMatchesDecoded(f *testing.F) {
	for _, s := range canonicalCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, werr := decodedFingerprint("refund", body)
		got, err := Fingerprint("refund", body)
		if (werr != nil) != (err != nil) || got != want {
			t.Fatalf("%q: fingerprint %s, %v; decoded %s, %v", body, got, err, want, werr)
		}
		fp, named, nerr := FingerprintNamed("refund", body, "guid", "orderId")
		if fp != got || (nerr != nil) != (err != nil) {
			t.Fatalf("%q: FingerprintNamed %s, %v; Fingerprint %s, %v", body, fp, nerr, got, err)
		}
		if named != nil {
			var top map[string]any
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&top); err != nil {
				t.Fatalf("%q: members read from a body encoding/json refuses: %v", body, err)
			}
			for i, name := range []string{"guid", "orderId"} {
				if v, _ := top[name].(string); named[i] != v {
					t.Fatalf("%q: %s read as %q, encoding/json reads %q", body, name, named[i], v)
				}
			}
		}
	})
}

// BenchmarkFingerprint: a start-session body read whole (the baseline,
// as earlier versions did) and token by token.
func BenchmarkFingerprint(b *testing.B) {
	body := []byte(canonicalCorpus[0])
	b.Run("decoded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodedFingerprint("start-session", body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("streamed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Fingerprint("start-session", body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestFingerprintNamed: the members a handler looks a replay up by are
// read only from a strict object's top level, and the fingerprint is
// Fingerprint's.
func TestFingerprintNamed(t *testing.T) {
	tests := []struct {
		body string
		want []string // nil: none read
	}{
		{`{"guid":"g-1","orderId":"o-1","amount":1}`, []string{"g-1", "o-1"}},
		{`{"orderId":"o-1","x":{"guid":"inner"}}`, []string{"", "o-1"}},
		{`{"guid":7,"orderId":null}`, []string{"", ""}},
		{`{"guid":"\u0067-1","orderId":"<&>"}`, []string{"g-1", "<&>"}},
		{`{"GUID":"g-1","orderid":"o-1"}`, []string{"", ""}},
		{`{"guid":"g-1","guid":"g-2","orderId":"o-1"}`, nil}, // a name twice
		{"{\"guid\":\"g-\xff\",\"orderId\":\"o-1\"}", nil},   // invalid UTF-8
		{`["guid","g-1"]`, nil},
		{`"g-1"`, nil},
	}
	for _, tt := range tests {
		fp, named, err := FingerprintNamed("refund", []byte(tt.body), "guid", "orderId")
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if want, _ := Fingerprint("refund", []byte(tt.body)); fp != want {
			t.Errorf("%s: fingerprint %s, Fingerprint gives %s", tt.body, fp, want)
		}
		if (named == nil) != (tt.want == nil) || len(named) != len(tt.want) {
			t.Errorf("%s: named %q, want %q", tt.body, named, tt.want)
			continue
		}
		for i := range named {
			if named[i] != tt.want[i] {
				t.Errorf("%s: named %q, want %q", tt.body, named, tt.want)
			}
		}
	}
	if _, _, err := FingerprintNamed("refund", []byte(`{"guid":`), "guid"); err == nil {
		t.Error("a body cut short has a fingerprint")
	}
}
