package hashing

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"sort"
	"strings"
)

// NestPay's ver3 hash (hashAlgorithm=ver3), the scheme of the Asseco/Payten
// virtual POS many Turkish banks run. It signs the 3D gate form the gateway
// sends and the fields the bank sends back through the shopper's browser:
//
//	base64(SHA512(v1|v2|…|vn|storeKey))
//
// where v1…vn are the values of every field but hash and encoding, in the
// order of their names compared case-insensitively, each with "\" written
// as "\\" and "|" as "\|" so that no value can shift another's place.
//
// The order is PHP's natcasesort, which the protocol's reference code and
// mewebstudio/pos use: letters folded to upper case (so "_" sorts after
// them, as it does after "Z") and runs of digits compared by value ("f9"
// before "f10"). Its leading-space and leading-zero subtleties are left
// out: field names have neither.

// nestPayUnsigned are the fields the protocol leaves out of the hash, by
// lower-cased name: the hash itself and the page encoding the bank adds.
var nestPayUnsigned = map[string]bool{"hash": true, "encoding": true}

// NestPayV3 returns the ver3 hash of fields under storeKey.
func NestPayV3(storeKey string, fields map[string]string) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		if !nestPayUnsigned[strings.ToLower(name)] {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if c := natCaseCompare(names[i], names[j]); c != 0 {
			return c < 0
		}
		return names[i] < names[j] // same name in two cases: any fixed order
	})
	var b strings.Builder
	for _, name := range names {
		b.WriteString(nestPayEscape(fields[name]))
		b.WriteString(fieldSeparator)
	}
	b.WriteString(nestPayEscape(storeKey))
	sum := sha512.Sum512([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// VerifyNestPayV3 reports whether hash is the ver3 hash of fields under
// storeKey, comparing the canonical base64 text in constant time. Any
// hash or encoding field among fields is ignored, so the bank's return can
// be passed as it came.
func VerifyNestPayV3(storeKey, hash string, fields map[string]string) bool {
	want := NestPayV3(storeKey, fields)
	return subtle.ConstantTimeCompare([]byte(want), []byte(hash)) == 1
}

// NestPayHashField finds the hash among a return's fields: banks send it as
// HASH or hash.
func NestPayHashField(fields map[string]string) string {
	for name, v := range fields {
		if strings.EqualFold(name, "hash") {
			return v
		}
	}
	return ""
}

func nestPayEscape(v string) string {
	return strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `|`, `\|`)
}

// natCaseCompare orders two field names as PHP's strnatcasecmp does.
func natCaseCompare(a, b string) int {
	for len(a) > 0 && len(b) > 0 {
		if isDigit(a[0]) && isDigit(b[0]) {
			da, db := digitRun(a), digitRun(b)
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if len(na) != len(nb) {
				return cmpInt(len(na), len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		ca, cb := upper(a[0]), upper(b[0])
		if ca != cb {
			return cmpInt(int(ca), int(cb))
		}
		a, b = a[1:], b[1:]
	}
	return cmpInt(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string) string {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i]
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
