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
		a, b := strings.ToLower(names[i]), strings.ToLower(names[j])
		if a != b {
			return a < b
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
