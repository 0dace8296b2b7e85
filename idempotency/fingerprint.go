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

// take keeps the value of a top-level string member (raw: its JSON
// text) when the member is named.
func (t *topMembers) take(name, raw []byte) {
	for i, n := range t.names {
		if string(name) == n {
			v, _ := appendUnquoted(nil, raw) // the decoder has checked it
			t.values[i] = string(v)
		}
	}
}

// canonicalizer is the reused state of the token-by-token reading: the
// decoder, and what objects share while they are written — their
// members and names as stacks, and a copy of their values to reorder —
// so that a member costs no allocation of its own.
type canonicalizer struct {
	dec    jsontext.Decoder
	ms     []member
	names  []byte
	values []byte
	top    *topMembers
}

var canonicalizers = sync.Pool{New: func() any { return new(canonicalizer) }}

// streamCanonical writes body's canonical form from its tokens; false
// when the strict reading refuses the body.
func streamCanonical(b *bytes.Buffer, body []byte, top *topMembers) bool {
	c := canonicalizers.Get().(*canonicalizer)
	defer canonicalizers.Put(c)
	c.dec.Reset(bytes.NewReader(body))
	c.ms, c.names, c.values, c.top = c.ms[:0], c.names[:0], c.values[:0], top
	out, err := c.value(b.AvailableBuffer(), true)
	c.top = nil
	if err != nil {
		return false
	}
	if _, err := c.dec.ReadToken(); err != io.EOF {
		return false
	}
	b.Write(out)
	return true
}

// member is one name (in names) and where its value's canonical form
// was written (in out).
type member struct {
	name       [2]int
	start, end int
}

// value appends the canonical form of the next value to out; top says
// it is the body itself.
func (c *canonicalizer) value(out []byte, top bool) ([]byte, error) {
	switch c.dec.PeekKind() {
	case '{':
		return c.object(out, top)
	case '[':
		if _, err := c.dec.ReadToken(); err != nil {
			return out, err
		}
		out = append(out, '[')
		for i := 0; c.dec.PeekKind() != ']'; i++ {
			if i > 0 {
				out = append(out, ',')
			}
			var err error
			if out, err = c.value(out, false); err != nil {
				return out, err
			}
		}
		if _, err := c.dec.ReadToken(); err != nil {
			return out, err
		}
		return append(out, ']'), nil
	case '"':
		raw, err := c.dec.ReadValue()
		if err != nil {
			return out, err
		}
		return appendQuoted(out, raw), nil
	}
	tok, err := c.dec.ReadToken()
	if err != nil {
		return out, err
	}
	switch tok.Kind() {
	case '0':
		return appendNumber(out, tok.String()), nil
	case 't':
		return append(out, "true"...), nil
	case 'f':
		return append(out, "false"...), nil
	}
	return append(out, "null"...), nil
}

// object appends an object's canonical form: its members are written as
// they come, then reordered by name.
func (c *canonicalizer) object(out []byte, top bool) ([]byte, error) {
	if _, err := c.dec.ReadToken(); err != nil {
		return out, err
	}
	take := top && c.top != nil
	if take {
		c.top.object = true
		take = len(c.top.names) > 0
	}
	base, namesBase, start := len(c.ms), len(c.names), len(out)
	for c.dec.PeekKind() != '}' {
		raw, err := c.dec.ReadValue()
		if err != nil {
			return out, err
		}
		from := len(c.names)
		if c.names, err = appendUnquoted(c.names, raw); err != nil {
			return out, err
		}
		m := member{name: [2]int{from, len(c.names)}, start: len(out)}
		if take && c.dec.PeekKind() == '"' {
			v, err := c.dec.ReadValue()
			if err != nil {
				return out, err
			}
			c.top.take(c.names[m.name[0]:m.name[1]], v)
			out = appendQuoted(out, v)
		} else if out, err = c.value(out, false); err != nil {
			return out, err
		}
		m.end = len(out)
		c.ms = append(c.ms, m)
	}
	if _, err := c.dec.ReadToken(); err != nil {
		return out, err
	}
	ms := c.ms[base:]
	name := func(m member) []byte { return c.names[m.name[0]:m.name[1]] }
	slices.SortFunc(ms, func(x, y member) int { return bytes.Compare(name(x), name(y)) })
	c.values = append(c.values[:0], out[start:]...)
	out = append(out[:start], '{')
	for i, m := range ms {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendStringBytes(out, name(m))
		out = append(out, ':')
		out = append(out, c.values[m.start-start:m.end-start]...)
	}
	c.ms, c.names = c.ms[:base], c.names[:namesBase]
	return append(out, '}'), nil
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

// appendQuoted appends the canonical form of a JSON string given as its
// raw text: the text itself when it has no escape and nothing that
// encoding/json escapes, which is most strings, else the string read and
// written again.
func appendQuoted(out, raw []byte) []byte {
	if inner := raw[1 : len(raw)-1]; plainASCII(inner) {
		return append(out, raw...)
	}
	s, _ := appendUnquoted(nil, raw) // the decoder has checked it
	return appendString(out, string(s))
}

// appendUnquoted appends the string a raw JSON string spells.
func appendUnquoted(dst, raw []byte) ([]byte, error) {
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return append(dst, inner...), nil
	}
	return jsontext.AppendUnquote(dst, raw)
}

// appendStringBytes is appendString of a string held as bytes.
func appendStringBytes(out, s []byte) []byte {
	if plainASCII(s) {
		out = append(out, '"')
		out = append(out, s...)
		return append(out, '"')
	}
	return appendString(out, string(s))
}

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

func plainASCII[S ~string | ~[]byte](s S) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
