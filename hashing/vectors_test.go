package hashing

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"
)

// vectorsPath holds hashes computed by testdata/hashing/gen.sh with openssl,
// so these tests compare the Go code against an independent implementation.
const vectorsPath = "../testdata/hashing/vectors.json"

type vectorFile struct {
	Vectors []vector `json:"vectors"`
}

type vector struct {
	Name    string            `json:"name"`
	Kind    string            `json:"kind"` // return, webhook or standard
	Scheme  string            `json:"scheme"`
	Key     string            `json:"key"`
	Fields  map[string]string `json:"fields"`
	Message string            `json:"message"`
	Hash    string            `json:"hash"`
	How     string            `json:"how"`

	// Standard Webhooks only.
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

func (v vector) returnFields(tb testing.TB) ReturnFields {
	tb.Helper()
	return fieldsAs[ReturnFields](tb, v)
}

func (v vector) webhookFields(tb testing.TB) WebhookFields {
	tb.Helper()
	return fieldsAs[WebhookFields](tb, v)
}

// fieldsAs reads a vector's fields into T by name (encoding/json matches
// orderId to OrderID), refusing a name T lacks so no field is dropped unseen.
func fieldsAs[T any](tb testing.TB, v vector) T {
	tb.Helper()
	var out T
	raw, err := json.Marshal(v.Fields)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		tb.Fatalf("%s: fields of %T: %v", v.Name, out, err)
	}
	return out
}

func mustLoadVectors(tb testing.TB, kind string) []vector {
	tb.Helper()
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		tb.Fatalf("reading vectors: %v", err)
	}
	var file vectorFile
	if err := json.Unmarshal(raw, &file); err != nil {
		tb.Fatalf("decoding %s: %v", vectorsPath, err)
	}
	var out []vector
	for _, v := range file.Vectors {
		if v.Kind == kind {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no %q vectors in %s", kind, vectorsPath)
	}
	return out
}

func mustParseScheme(tb testing.TB, name string) Scheme {
	tb.Helper()
	s, err := ParseScheme(name)
	if err != nil {
		tb.Fatalf("ParseScheme(%q): %v", name, err)
	}
	return s
}

func TestVectorsCoverTheContract(t *testing.T) {
	var file vectorFile
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 6 {
		t.Errorf("%d vectors, want at least 6", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		if len(v.Key) < 32 {
			t.Errorf("%s: key of %d characters, production keys have at least 32", v.Name, len(v.Key))
		}
		if v.How == "" {
			t.Errorf("%s: no openssl command recorded", v.Name)
		}
	}
}

func TestReturnVectors(t *testing.T) {
	for _, v := range mustLoadVectors(t, "return") {
		t.Run(v.Name, func(t *testing.T) {
			s := mustParseScheme(t, v.Scheme)
			f := v.returnFields(t)
			// The message openssl signed was joined in the contract's order,
			// so this pins Values() to that order.
			if got := joinFields(f.Values()); got != v.Message {
				t.Fatalf("signed message\n got %q\nwant %q", got, v.Message)
			}
			if got := s.SignReturn(v.Key, f); got != v.Hash {
				t.Errorf("SignReturn = %s, want %s", got, v.Hash)
			}
			if !s.VerifyReturn(v.Key, v.Hash, f) {
				t.Error("VerifyReturn rejected the openssl hash")
			}
		})
	}
}

func TestWebhookVectors(t *testing.T) {
	for _, v := range mustLoadVectors(t, "webhook") {
		t.Run(v.Name, func(t *testing.T) {
			f := v.webhookFields(t)
			if got := joinFields(f.Values()); got != v.Message {
				t.Fatalf("signed message\n got %q\nwant %q", got, v.Message)
			}
			if got := SignWebhook(v.Key, f); got != v.Hash {
				t.Errorf("SignWebhook = %s, want %s", got, v.Hash)
			}
			if !VerifyWebhook(v.Key, v.Hash, f) {
				t.Error("VerifyWebhook rejected the openssl hash")
			}
		})
	}
}

func TestStandardVectors(t *testing.T) {
	for _, v := range mustLoadVectors(t, "standard") {
		t.Run(v.Name, func(t *testing.T) {
			sec, err := strconv.ParseInt(v.Timestamp, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			ts := time.Unix(sec, 0)
			if got := StandardSignature([]byte(v.Key), v.ID, ts, []byte(v.Body)); got != v.Signature {
				t.Errorf("StandardSignature = %s, want %s", got, v.Signature)
			}
			err = VerifyStandard([]byte(v.Key), v.ID, v.Timestamp, v.Signature, []byte(v.Body), ts, DefaultTolerance)
			if err != nil {
				t.Errorf("VerifyStandard rejected the openssl signature: %v", err)
			}
		})
	}
}

// TestReturnTampering changes one thing at a time and expects the hash to
// stop matching: every field, the key, and every character of the hash.
func TestReturnTampering(t *testing.T) {
	for _, v := range mustLoadVectors(t, "return") {
		t.Run(v.Name, func(t *testing.T) {
			s := mustParseScheme(t, v.Scheme)
			f := v.returnFields(t)
			for i := range f.Values() {
				values := f.Values()
				values[i] = tamper(values[i])
				if s.Verify(v.Key, v.Hash, values...) {
					t.Errorf("field %d changed to %q still verifies", i, values[i])
				}
			}
			if s.VerifyReturn(tamper(v.Key), v.Hash, f) {
				t.Error("a different key still verifies")
			}
			for _, h := range everyCharacterChanged(v.Hash) {
				if s.VerifyReturn(v.Key, h, f) {
					t.Errorf("hash %q still verifies", h)
				}
			}
			if other := otherScheme(s); other.VerifyReturn(v.Key, v.Hash, f) {
				t.Errorf("hash verifies under %s too", other)
			}
		})
	}
}

func TestWebhookTampering(t *testing.T) {
	for _, v := range mustLoadVectors(t, "webhook") {
		t.Run(v.Name, func(t *testing.T) {
			base := v.webhookFields(t)
			mutators := []func(*WebhookFields){
				func(f *WebhookFields) { f.Salt = tamper(f.Salt) },
				func(f *WebhookFields) { f.EventID = tamper(f.EventID) },
				func(f *WebhookFields) { f.EventTimestamp = tamper(f.EventTimestamp) },
				func(f *WebhookFields) { f.OrderID = tamper(f.OrderID) },
				func(f *WebhookFields) { f.TransactionID = tamper(f.TransactionID) },
				func(f *WebhookFields) { f.Amount = tamper(f.Amount) },
				func(f *WebhookFields) { f.Status = tamper(f.Status) },
				func(f *WebhookFields) { f.SubStatus = tamper(f.SubStatus) },
			}
			if len(mutators) != len(base.Values()) {
				t.Fatalf("%d mutators for %d fields", len(mutators), len(base.Values()))
			}
			for i, mutate := range mutators {
				f := base
				mutate(&f)
				if VerifyWebhook(v.Key, v.Hash, f) {
					t.Errorf("field %d changed still verifies", i)
				}
			}
			if VerifyWebhook(tamper(v.Key), v.Hash, base) {
				t.Error("a different key still verifies")
			}
			for _, h := range everyCharacterChanged(v.Hash) {
				if VerifyWebhook(v.Key, h, base) {
					t.Errorf("hash %q still verifies", h)
				}
			}
		})
	}
}

func TestVerifyRejectsMalformedHash(t *testing.T) {
	v := mustLoadVectors(t, "return")[0]
	s := mustParseScheme(t, v.Scheme)
	f := v.returnFields(t)
	last := len(v.Hash) - 1
	cases := []struct {
		name, hash string
	}{
		{"empty", ""},
		{"not base64", "!!!not*base64!!!"},
		{"unpadded", v.Hash[:len(v.Hash)-2]},
		{"truncated", v.Hash[:last]},
		{"extra padding", v.Hash + "="},
		{"trailing newline", v.Hash + "\n"},
		{"embedded newline", v.Hash[:40] + "\n" + v.Hash[40:]},
		{"leading space", " " + v.Hash},
		{"url alphabet", urlAlphabet(v.Hash)},
		{"doubled", v.Hash + v.Hash},
		{"hex digest instead", "c93cb1b6f031dc8b3ea8a746e36d94538c074d89c8b0bc74d7f809d208ee4c2e"},
		{"NUL bytes", string(make([]byte, len(v.Hash)))},
		{"invalid UTF-8", "\xff\xfe" + v.Hash[2:]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.hash == v.Hash {
				t.Skip("variant equals the hash itself")
			}
			if s.VerifyReturn(v.Key, tc.hash, f) {
				t.Errorf("VerifyReturn accepted %q", tc.hash)
			}
		})
	}
}

// tamper returns a value that differs from s, also when s is empty, so that a
// missing field turned into a present one is covered too.
func tamper(s string) string {
	if s == "" {
		return "x"
	}
	b := []byte(s)
	b[0] ^= 0x01
	return string(b)
}

// everyCharacterChanged returns hash with each position in turn replaced by
// another character of the base64 alphabet (padding included), so every
// variant is still well-formed looking text.
func everyCharacterChanged(hash string) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
	out := make([]string, 0, len(hash))
	for i := range len(hash) {
		b := []byte(hash)
		j := 0
		for alphabet[j] == b[i] {
			j++
		}
		b[i] = alphabet[j]
		out = append(out, string(b))
	}
	return out
}

func urlAlphabet(hash string) string {
	b := []byte(hash)
	for i, c := range b {
		switch c {
		case '+':
			b[i] = '-'
		case '/':
			b[i] = '_'
		}
	}
	return string(b)
}

func otherScheme(s Scheme) Scheme {
	if s == SchemeSHA512KeyLast {
		return SchemeHMACSHA512
	}
	return SchemeSHA512KeyLast
}
