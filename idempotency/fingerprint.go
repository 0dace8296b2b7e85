package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// Fingerprint identifies a request: the endpoint and its JSON body in a
// canonical form, so that key order, spacing and how a number is written
// (100.5, 100.50, 1.005e2) do not make a retry look like another request.
//
// A strict body (valid UTF-8, no name twice: every body the five calls
// accept) is read token by token; any other falls back to decoding it
// whole, which gives the same canonical form for what both can read and
// keeps the form fingerprints stored by earlier versions were made with.
func Fingerprint(endpoint string, body []byte) (string, error) {
	fp, _, err := FingerprintNamed(endpoint, body)
	return fp, err
}

// FingerprintNamed is Fingerprint that also reads the body's top-level
// string members names: named[i] is names[i]'s value, "" when the body
// has no such string. named is nil unless the body is a strict object,
// the one kind whose members every decoder reads alike; a handler can
// then look a replay up before it decodes the body.
func FingerprintNamed(endpoint string, body []byte, names ...string) (fp string, named []string, err error) {
	var b bytes.Buffer
	b.Grow(len(body) + len(endpoint) + 16)
	b.WriteString(endpoint)
	b.WriteByte('\n')
	top := topMembers{names: names}
	if len(names) > 0 {
		top.values = make([]string, len(names))
	}
	if !streamCanonical(&b, body, &top) {
		b.Truncate(len(endpoint) + 1)
		if err := decodedCanonical(&b, body); err != nil {
			return "", nil, err
		}
		top.values, top.object = nil, false
	}
	if !top.object {
		top.values = nil
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:]), top.values, nil
}

// topMembers gathers the top-level string members a caller names.
type topMembers struct {
	names, values []string
	object        bool // the top level is an object
}

// take keeps the value of a top-level string member when it is named.
func (t *topMembers) take(name, value string) {
	for i, n := range t.names {
		if n == name {
			t.values[i] = value
		}
	}
}

// decoders are reused: a jsontext.Decoder is large to allocate per call.
var decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

// streamCanonical writes body's canonical form from its tokens; false
// when the strict reading refuses the body.
func streamCanonical(b *bytes.Buffer, body []byte, top *topMembers) bool {
	dec := decoders.Get().(*jsontext.Decoder)
	defer decoders.Put(dec)
	dec.Reset(bytes.NewReader(body))
	out := b.AvailableBuffer()
	out, err := canonicalTokens(dec, out, top)
	if err != nil {
		return false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return false
	}
	b.Write(out)
	return true
}

// member is one name and where its value's canonical form was written.
type member struct {
	name       string
	start, end int
}

// canonicalTokens appends the canonical form of the next value to out.
// An object's members are written as they come, then reordered by name.
// top, when not nil, is told the value's string members (top level).
func canonicalTokens(dec *jsontext.Decoder, out []byte, top *topMembers) ([]byte, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return out, err
	}
	switch tok.Kind() {
	case '{':
		if top != nil {
			top.object = true
		}
		var ms []member
		start := len(out)
		for dec.PeekKind() != '}' {
			tok, err := dec.ReadToken()
			if err != nil {
				return out, err
			}
			m := member{name: tok.String(), start: len(out)} // before the next read voids tok
			if top != nil && len(top.names) > 0 && dec.PeekKind() == '"' {
				v, err := dec.ReadToken()
				if err != nil {
					return out, err
				}
				str := v.String()
				top.take(m.name, str)
				out = appendString(out, str)
			} else if out, err = canonicalTokens(dec, out, nil); err != nil {
				return out, err
			}
			m.end = len(out)
			ms = append(ms, m)
		}
		if _, err := dec.ReadToken(); err != nil {
			return out, err
		}
		values := append([]byte(nil), out[start:]...)
		out = append(out[:start], '{')
		slices.SortFunc(ms, func(x, y member) int { return strings.Compare(x.name, y.name) })
		for i, m := range ms {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendString(out, m.name)
			out = append(out, ':')
			out = append(out, values[m.start-start:m.end-start]...)
		}
		return append(out, '}'), nil
	case '[':
		out = append(out, '[')
		for i := 0; dec.PeekKind() != ']'; i++ {
			if i > 0 {
				out = append(out, ',')
			}
			if out, err = canonicalTokens(dec, out, nil); err != nil {
				return out, err
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return out, err
		}
		return append(out, ']'), nil
	case '"':
		return appendString(out, tok.String()), nil
	case '0':
		return appendNumber(out, tok.String()), nil
	case 't':
		return append(out, "true"...), nil
	case 'f':
		return append(out, "false"...), nil
	}
	return append(out, "null"...), nil
}

// decodedCanonical writes body's canonical form from its decoded value,
// as encoding/json reads it (invalid UTF-8 replaced, the last of a name
// given twice).
func decodedCanonical(b *bytes.Buffer, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("idempotency: fingerprint: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("idempotency: fingerprint: text after the JSON value")
	}
	canonical(b, v)
	return nil
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
		b.Write(appendNumber(b.AvailableBuffer(), string(x)))
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

// appendNumber appends a number literal as an exact fraction p/q, as
// big.Rat's RatString spells it. A huge exponent would make big.Rat build
// a huge number: such literals are kept as written.
func appendNumber(out []byte, n string) []byte {
	if f, ok := smallDecimal(n); ok {
		return append(out, f...)
	}
	if r, ok := new(big.Rat).SetString(n); ok && !hugeExponent(n) {
		return append(out, r.RatString()...)
	}
	return append(out, n...)
}

// smallDecimal spells p/q for a literal of at most 18 digits with no
// exponent, such as an amount, without big.Rat; ok is false for others.
func smallDecimal(n string) ([]byte, bool) {
	neg := strings.HasPrefix(n, "-")
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(n, "-"), ".")
	frac = strings.TrimRight(frac, "0")
	digits := intPart + frac
	if intPart == "" || len(digits) > 18 || strings.ContainsAny(n, "eE") {
		return nil, false
	}
	var p uint64
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return nil, false
		}
		p = p*10 + uint64(digits[i]-'0')
	}
	q := uint64(1)
	for range len(frac) {
		q *= 10
	}
	for g := gcd(p, q); g > 1; g = gcd(p, q) {
		p, q = p/g, q/g
	}
	var b []byte
	if neg && p != 0 {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, p, 10)
	if q != 1 {
		b = append(b, '/')
		b = strconv.AppendUint(b, q, 10)
	}
	return b, true
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func hugeExponent(n string) bool {
	i := strings.IndexAny(n, "eE")
	if i < 0 {
		return false
	}
	exp := strings.TrimLeft(n[i+1:], "+-0")
	return len(exp) > 2
}

func writeString(b *bytes.Buffer, s string) { b.Write(appendString(b.AvailableBuffer(), s)) }

// appendString appends s as encoding/json writes it; a string of
// printable ASCII that it would not escape is appended as it is.
func appendString(out []byte, s string) []byte {
	if plainASCII(s) {
		out = append(out, '"')
		out = append(out, s...)
		return append(out, '"')
	}
	enc, _ := json.Marshal(s) // a string always encodes
	return append(out, enc...)
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
