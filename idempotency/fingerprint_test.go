package idempotency_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/akinon-gateway/gateway/idempotency"
)

func mustFingerprint(tb testing.TB, endpoint, body string) string {
	tb.Helper()
	fp, err := idempotency.Fingerprint(endpoint, []byte(body))
	if err != nil {
		tb.Fatalf("Fingerprint(%s, %s): %v", endpoint, body, err)
	}
	return fp
}

func TestFingerprintSameRequest(t *testing.T) {
	base := `{"guid":"g1","orderId":"o1","amount":100.5,"currency":"TRY","customer":{"email":"a@b.c","firstName":"A"}}`
	same := []struct{ name, body string }{
		{"key order", `{"currency":"TRY","amount":100.5,"orderId":"o1","guid":"g1","customer":{"firstName":"A","email":"a@b.c"}}`},
		{"whitespace", "{\n  \"guid\" : \"g1\",\t\"orderId\":\"o1\",  \"amount\" :100.5 ,\"currency\":\"TRY\",\r\n\"customer\":{ \"email\":\"a@b.c\", \"firstName\":\"A\" } }\n"},
		{"100.50", `{"guid":"g1","orderId":"o1","amount":100.50,"currency":"TRY","customer":{"email":"a@b.c","firstName":"A"}}`},
		{"1.005e2", `{"guid":"g1","orderId":"o1","amount":1.005e2,"currency":"TRY","customer":{"email":"a@b.c","firstName":"A"}}`},
		{"1005E-1", `{"guid":"g1","orderId":"o1","amount":1005E-1,"currency":"TRY","customer":{"email":"a@b.c","firstName":"A"}}`},
		{"100.500000", `{"guid":"g1","orderId":"o1","amount":100.500000,"currency":"TRY","customer":{"email":"a@b.c","firstName":"A"}}`},
		{"escaped string", `{"guid":"\u0067\u0031","orderId":"o1","amount":100.5,"currency":"TRY","customer":{"email":"a@b.c","firstName":"A"}}`},
	}
	want := mustFingerprint(t, "refund", base)
	if len(want) != 64 {
		t.Fatalf("fingerprint %q is not a hex SHA-256", want)
	}
	for _, tt := range same {
		if got := mustFingerprint(t, "refund", tt.body); got != want {
			t.Errorf("%s: fingerprint differs from the same request written otherwise", tt.name)
		}
	}

	other := []struct{ name, endpoint, body string }{
		{"another endpoint", "purchase", base},
		{"another amount", "refund", `{"guid":"g1","orderId":"o1","amount":100.51,"currency":"TRY","customer":{"email":"a@b.c","firstName":"A"}}`},
		{"amount as a string", "refund", `{"guid":"g1","orderId":"o1","amount":"100.5","currency":"TRY","customer":{"email":"a@b.c","firstName":"A"}}`},
		{"another nested value", "refund", `{"guid":"g1","orderId":"o1","amount":100.5,"currency":"TRY","customer":{"email":"a@b.d","firstName":"A"}}`},
		{"a field more", "refund", `{"guid":"g1","orderId":"o1","amount":100.5,"currency":"TRY","customer":{"email":"a@b.c","firstName":"A"},"x":null}`},
		{"a field less", "refund", `{"guid":"g1","orderId":"o1","amount":100.5,"currency":"TRY","customer":{"email":"a@b.c"}}`},
		{"case of a value", "refund", `{"guid":"g1","orderId":"o1","amount":100.5,"currency":"try","customer":{"email":"a@b.c","firstName":"A"}}`},
		{"case of a key", "refund", `{"GUID":"g1","orderId":"o1","amount":100.5,"currency":"TRY","customer":{"email":"a@b.c","firstName":"A"}}`},
		{"endpoint case", "Refund", base},
	}
	seen := map[string]string{want: "base"}
	for _, tt := range other {
		got := mustFingerprint(t, tt.endpoint, tt.body)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: same fingerprint as %s", tt.name, prev)
		}
		seen[got] = tt.name
	}

	// Values that could collide in a naive encoding stay apart.
	pairs := [][2]string{
		{`{"a":"1"}`, `{"a":1}`},
		{`{"a":true}`, `{"a":"true"}`},
		{`{"a":null}`, `{"a":"null"}`},
		{`{"a":[1,2]}`, `{"a":"[1,2]"}`},
		{`{"a":"x","b":"y"}`, `{"a":"x\",\"b\":\"y"}`},
		{`{"a":{}}`, `{"a":[]}`},
		{`{"a":"1/2"}`, `{"a":0.5}`},
	}
	for _, p := range pairs {
		if mustFingerprint(t, "e", p[0]) == mustFingerprint(t, "e", p[1]) {
			t.Errorf("%s and %s share a fingerprint", p[0], p[1])
		}
	}
}

func TestFingerprintRefusesBadJSON(t *testing.T) {
	for _, body := range []string{"", " ", "{", `{"a":}`, "nope", `{"a":1,}`, `{'a':1}`, "\xff", `{"a":1}{"a":2}`, `{"a":1} trailing`} {
		if _, err := idempotency.Fingerprint("refund", []byte(body)); err == nil {
			t.Errorf("Fingerprint(%q) accepted malformed JSON", body)
		}
	}
}

// FuzzFingerprint: any body, never a panic; a body that parses has one
// fingerprint however it is re-encoded.
func FuzzFingerprint(f *testing.F) {
	for _, s := range []string{`{"amount":100.5}`, `{"amount":1.005e2}`, `[1,"a",null,true,{"b":[]}]`,
		`1e999999999`, `{"a":1e-400}`, `"\ud800"`, "{\"\xff\":1}", `{"a":1,"a":2}`, ``, `{`} {
		f.Add("refund", []byte(s))
	}
	f.Fuzz(func(t *testing.T, endpoint string, body []byte) {
		fp, err := idempotency.Fingerprint(endpoint, body)
		if err != nil {
			return
		}
		again, _ := idempotency.Fingerprint(endpoint, body)
		if again != fp {
			t.Fatalf("two fingerprints for one body")
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("Fingerprint accepted what the decoder refuses: %v", err)
		}
		re, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return
		}
		if got, err := idempotency.Fingerprint(endpoint, re); err != nil || got != fp {
			t.Fatalf("re-encoded %q as %q: fingerprint %s, %v; want %s", body, re, got, err, fp)
		}
	})
}
