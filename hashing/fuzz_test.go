package hashing

import (
	"strconv"
	"testing"
	"time"
)

// FuzzVerifyReturn feeds arbitrary fields and hashes to the return-url
// verification, which reads what a browser posts.
func FuzzVerifyReturn(f *testing.F) {
	for _, v := range mustLoadVectors(f, "return") {
		r := v.returnFields(f)
		f.Add(v.Scheme == string(SchemeSHA512KeyLast), v.Key, v.Hash,
			r.Salt, r.OrderID, r.SessionID, r.TransactionID, r.Amount, r.Installment, r.Currency, r.Status, r.SubStatus,
			uint8(0), uint8(1))
	}
	f.Add(false, "", "", "", "", "", "", "", "", "", "", "", uint8(87), uint8(0xff))
	f.Add(true, "k", "=\n", "|", "||", "\x00", "\xff", "ğüşıöç", "", "", "", "", uint8(3), uint8(0x80))

	f.Fuzz(func(t *testing.T, keyLast bool, key, hash,
		salt, orderID, sessionID, transactionID, amount, installment, currency, status, subStatus string,
		pos, mask uint8) {
		s := SchemeHMACSHA512
		if keyLast {
			s = SchemeSHA512KeyLast
		}
		fields := ReturnFields{
			Salt: salt, OrderID: orderID, SessionID: sessionID, TransactionID: transactionID,
			Amount: amount, Installment: installment, Currency: currency, Status: status, SubStatus: subStatus,
		}

		signed := s.SignReturn(key, fields)
		if !s.VerifyReturn(key, signed, fields) {
			t.Fatalf("Sign then Verify failed for %+v", fields)
		}
		// Only the exact hash Sign makes may pass; anything else a client
		// sends, well-formed or not, must fail without a panic.
		if got := s.VerifyReturn(key, hash, fields); got != (hash == signed) {
			t.Fatalf("VerifyReturn(%q) = %v, hash Sign makes is %q", hash, got, signed)
		}

		if mask == 0 {
			mask = 1
		}
		b := []byte(signed)
		b[int(pos)%len(b)] ^= mask
		if s.VerifyReturn(key, string(b), fields) {
			t.Fatalf("hash with byte %d flipped by %#x still verifies", int(pos)%len(b), mask)
		}
	})
}

// FuzzVerifyStandard feeds arbitrary headers and bodies to the Standard
// Webhooks verification, which reads what any caller of a webhook endpoint
// sends.
func FuzzVerifyStandard(f *testing.F) {
	for _, v := range mustLoadVectors(f, "standard") {
		sec, _ := strconv.ParseInt(v.Timestamp, 10, 64)
		f.Add([]byte(v.Key), v.ID, v.Timestamp, v.Signature, []byte(v.Body), sec)
	}
	f.Add([]byte(nil), "", "", "", []byte(nil), int64(0))
	f.Add([]byte("k"), "id", "-1", "v1, v1,= ,v1 v1,,", []byte("{}"), int64(-1))
	f.Add([]byte("k"), "id", "9223372036854775807", "v1,AAAA", []byte("{}"), int64(9223372036854775807))

	f.Fuzz(func(t *testing.T, key []byte, id, timestamp, signature string, body []byte, nowSec int64) {
		now := time.Unix(nowSec, 0)
		_ = VerifyStandard(key, id, timestamp, signature, body, now, DefaultTolerance)

		// Keep the round trip to times time.Unix represents exactly.
		const bound = 1 << 40
		if id == "" || nowSec < -bound || nowSec > bound {
			return
		}
		sig := StandardSignature(key, id, now, body)
		if err := VerifyStandard(key, id, strconv.FormatInt(nowSec, 10), sig+" "+signature, body, now, DefaultTolerance); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}
