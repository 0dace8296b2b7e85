package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
)

// Fingerprint identifies a request: the endpoint and its JSON body in a
// canonical form, so that key order, spacing and how a number is written
// (100.5, 100.50, 1.005e2) do not make a retry look like another request.
func Fingerprint(endpoint string, body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("idempotency: fingerprint: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", fmt.Errorf("idempotency: fingerprint: text after the JSON value")
	}
	var b bytes.Buffer
	b.WriteString(endpoint)
	b.WriteByte('\n')
	canonical(&b, v)
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// canonical writes v with sorted keys and exact rational numbers. The
// output is only hashed, never parsed: numbers are written as p/q, which
// cannot be mistaken for a (quoted) string.
func canonical(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			canonical(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			canonical(b, e)
		}
		b.WriteByte(']')
	case string:
		writeString(b, x)
	case json.Number:
		// A huge exponent would make big.Rat build a huge number: such
		// literals are kept as written.
		if r, ok := new(big.Rat).SetString(string(x)); ok && !hugeExponent(string(x)) {
			b.WriteString(r.RatString())
		} else {
			b.WriteString(string(x))
		}
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	default:
		b.WriteString("null")
	}
}

func hugeExponent(n string) bool {
	i := strings.IndexAny(n, "eE")
	if i < 0 {
		return false
	}
	exp := strings.TrimLeft(n[i+1:], "+-0")
	return len(exp) > 2
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always encodes
	b.Write(enc)
}
