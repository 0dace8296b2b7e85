package hashing

import (
	"strings"
	"testing"
)

// The published vectors come from the tests of the open-source PHP library
// mewebstudio/pos (MIT), tests/Unit/Crypt/EstV3PosCryptTest.php at commit
// a4c454a5c1edfbb328626a5ed0bc0d1c1aa74f5c: store key "123456", PHP null
// written as "" and integers as their decimal text, as PHP's str_replace does.
var nestPayPublished = []struct {
	name   string
	key    string // the library's store key when empty
	fields map[string]string
	hash   string
}{
	{
		name: "testCreate3DHashFor3DPay",
		fields: map[string]string{
			"clientid": "190100000", "storetype": "3d_pay", "amount": "100.25", "oid": "order222",
			"okUrl": "https://domain.com/success", "failUrl": "https://domain.com/fail_url", "rnd": "rand",
			"lang": "tr", "currency": "949", "taksit": "", "islemtipi": "Auth", "firmaadi": "siparis veren",
			"Email": "test@test.com", "hashAlgorithm": "ver3",
		},
		hash: "/uPxhEKWCEGi3NsDOOQ4u8Hu5g71v5GWspOid70WehTWEz97PqxG3IN1Jv5jsbOXOw3Z3Rr/0UtywzEgbqFfdA==",
	},
	{
		name: "testCreate3DHashFor3DSecure",
		fields: map[string]string{
			"clientid": "190100000", "storetype": "3d", "amount": "100.25", "oid": "order222",
			"okUrl": "https://domain.com/success", "failUrl": "https://domain.com/fail_url", "rnd": "12345",
			"hashAlgorithm": "ver3", "lang": "tr", "currency": "949", "islemtipi": "Auth", "taksit": "",
		},
		hash: "4aUsG5hqlIFLc9s8PKc5rWb2OLhmxDDewNgKa2XrwoYCIxlyVq8Fjl4IVaZzoqL983CfTseicmnTA0PjZr74xg==",
	},
	{
		name:   "threeDHashCheckDataProvider (a bank's return, HASH and encoding included)",
		fields: nestPayPublishedReturn(),
		hash:   "jVgcwtx4vxxAcX8+ajsrrzp77k9uaGu1pjDQfCpoUG95y2MwwGipc6cF3kESiTphjV8/1ESSc6zg9KyTSxUnzA==",
	},
	{
		// Not from the library: escaping in values and in the key, checked with
		// printf 'a\|b|c\\d|e\\\|f|k\|ey' | openssl dgst -sha512 -binary | base64
		name:   "escaped separators and backslashes (openssl)",
		key:    "k|ey",
		fields: map[string]string{"gamma": `e\|f`, "Beta": `c\d`, "alpha": "a|b", "HASH": "x", "Encoding": "utf-8"},
		hash:   "4mR4vpXayOUt6AZVe1ywU4jZtgs5eyVh8vKQWir1BjIOgwYYuhpo69GCWvyoFIMRMHMZZOQO7tFtiaJ2EfLWtA==",
	},
	{
		// Not from the library: PHP natcasesort's order, which folds to upper
		// case ("aZb" before "a_b") and compares digit runs by value ("f9"
		// before "f10"), written out by hand and hashed with
		// printf '2|1|5|4|3|key' | openssl dgst -sha512 -binary | base64
		// (a lower-case, byte-wise order would hash 1|2|5|3|4|key instead).
		name:   "natural, upper-folded order of names (openssl)",
		key:    "key",
		fields: map[string]string{"a_b": "1", "aZb": "2", "f10": "3", "f9": "4", "Beta": "5"},
		hash:   "HUSR0QRjPDWM26xwvEE6B/m40Jjqe4NhfsMwqWbMbeTy1t2YLx11h8cCEK3Lg7TVN0ugn/5RI5Nwrt4zOlIgxA==",
	},
}

func TestNatCaseCompare(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"amount", "AMOUNT", 0},
		{"amount", "clientid", -1},
		{"aZb", "a_b", -1}, // "_" sorts after the letters, as after "Z"
		{"EXTRA_CARDBRAND", "EXTRA_CARDISSUER", -1},
		{"f9", "f10", -1},
		{"f20", "f9a", 1}, // digit runs by value
		{"md", "mdStatus", -1},
		{"okUrl", "oid", 1},
		{"", "a", -1},
	}
	for _, c := range cases {
		if got := natCaseCompare(c.a, c.b); got != c.want {
			t.Errorf("natCaseCompare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := natCaseCompare(c.b, c.a); got != -c.want {
			t.Errorf("natCaseCompare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func nestPayPublishedReturn() map[string]string {
	return map[string]string{
		"ReturnOid": "202210308C0F", "TRANID": "", "hashAlgorithm": "ver3", "PAResSyntaxOK": "true",
		"firmaadi": "John Doe", "islemtipi": "Auth", "lang": "tr", "merchantID": "190200000",
		"maskedCreditCard": "4355 08** **** 4358", "amount": "1.01", "sID": "1", "ACQBIN": "454672",
		"Ecom_Payment_Card_ExpDate_Year": "26", "EXTRA_CARDBRAND": "VISA", "Email": "mail@customer.com",
		"MaskedPan": "435508***4358", "acqStan": "184784", "merchantName": "Ziraat 3D_Pay",
		"clientIp": "89.244.149.137", "EXTRA_KAZANILANPUAN": "000000010.00",
		"okUrl":          "http://localhost/akbank/3d-pay/response.php",
		"md":             "435508:51104213993AC8DFE8839C7F7E391B461115D09A1D88948C8ACE421D7D7EAA5A:3545:##190200000",
		"ProcReturnCode": "00", "payResults_dsId": "1", "taksit": "", "TransId": "22303RqiC11252",
		"EXTRA_TRXDATE": "20221030 17:42:33", "Ecom_Payment_Card_ExpDate_Month": "12", "storetype": "3d_pay",
		"Response": "Approved", "SettleId": "2383",
		"mdErrorMsg": "Y-status/Challenge authentication via ACS: https://3ds-acs.test.modirum.com/mdpayacs/creq?token=214711321.1667140951.Ud_jQl3B2l1",
		"ErrMsg":     "", "PAResVerified": "true", "cavv": "ABABBCgghAAAAABllJMDdZdTdic=", "digest": "digest",
		"HostRefNum": "230317184784", "callbackCall": "true", "AuthCode": "216981",
		"failUrl": "http://localhost/akbank/3d-pay/response.php", "xid": "N1An1iS5iN4u/1VWS6CgzSGRtN0=",
		"encoding": "ISO-8859-9", "currency": "949", "oid": "202210308C0F", "mdStatus": "1", "dsId": "1",
		"eci": "05", "version": "2.0", "EXTRA_CARDISSUER": "AKBANK T.A.S.", "clientid": "190200000",
		"txstatus": "Y", "rnd": "J/jGATA5LLVaMfpU+Yyu",
		"HASH": "jVgcwtx4vxxAcX8+ajsrrzp77k9uaGu1pjDQfCpoUG95y2MwwGipc6cF3kESiTphjV8/1ESSc6zg9KyTSxUnzA==",
	}
}

const nestPayPublishedKey = "123456"

func TestNestPayV3PublishedVectors(t *testing.T) {
	for _, v := range nestPayPublished {
		t.Run(v.name, func(t *testing.T) {
			key := v.key
			if key == "" {
				key = nestPayPublishedKey
			}
			if got := NestPayV3(key, v.fields); got != v.hash {
				t.Fatalf("NestPayV3 = %s, published %s", got, v.hash)
			}
			if !VerifyNestPayV3(key, v.hash, v.fields) {
				t.Fatal("VerifyNestPayV3 refused the published hash")
			}
		})
	}
}

func TestVerifyNestPayV3Refuses(t *testing.T) {
	ret := nestPayPublishedReturn()
	hash := NestPayHashField(ret)
	cases := []struct {
		name   string
		key    string
		hash   string
		change func(map[string]string)
	}{
		// The library's own negative case: the return with mdStatus emptied.
		{name: "mdStatus emptied", key: nestPayPublishedKey, hash: hash, change: func(f map[string]string) { f["mdStatus"] = "" }},
		{name: "amount raised", key: nestPayPublishedKey, hash: hash, change: func(f map[string]string) { f["amount"] = "100.01" }},
		{name: "field added", key: nestPayPublishedKey, hash: hash, change: func(f map[string]string) { f["extra"] = "" }},
		{name: "field dropped", key: nestPayPublishedKey, hash: hash, change: func(f map[string]string) { delete(f, "TRANID") }},
		{name: "separator moved between values", key: nestPayPublishedKey, hash: hash, change: func(f map[string]string) {
			f["ACQBIN"], f["acqStan"] = "454672|184784", ""
		}},
		{name: "other store key", key: "123457", hash: hash},
		{name: "hash lower-cased", key: nestPayPublishedKey, hash: strings.ToLower(hash)},
		{name: "hash without padding", key: nestPayPublishedKey, hash: strings.TrimRight(hash, "=")},
		{name: "empty hash", key: nestPayPublishedKey, hash: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := nestPayPublishedReturn()
			if c.change != nil {
				c.change(f)
			}
			if VerifyNestPayV3(c.key, c.hash, f) {
				t.Fatal("verified")
			}
		})
	}
}

// FuzzVerifyNestPayV3 feeds arbitrary returns to the verifier, which reads
// what a shopper's browser posts back from the bank.
func FuzzVerifyNestPayV3(f *testing.F) {
	for _, v := range nestPayPublished {
		f.Add(nestPayPublishedKey, v.hash, v.fields["oid"], v.fields["amount"], v.fields["mdStatus"], uint8(0))
	}
	f.Add("", "", "|", `\`, `\|`, uint8(7))
	f.Add("k|", "=\n", "ğüşıöç", "\x00", "\xff", uint8(0xff))

	f.Fuzz(func(t *testing.T, key, hash, oid, amount, mdStatus string, pos uint8) {
		fields := map[string]string{"oid": oid, "amount": amount, "mdStatus": mdStatus, "hash": hash}
		signed := NestPayV3(key, fields)
		if !VerifyNestPayV3(key, signed, fields) {
			t.Fatalf("sign then verify failed for %q", fields)
		}
		if got := VerifyNestPayV3(key, hash, fields); got != (hash == signed) {
			t.Fatalf("VerifyNestPayV3(%q) = %v, the signed hash is %q", hash, got, signed)
		}
		b := []byte(signed)
		b[int(pos)%len(b)] ^= 1
		if VerifyNestPayV3(key, string(b), fields) {
			t.Fatal("a hash with one bit flipped verified")
		}
		// Moving a separator from one value into its neighbour must change the hash.
		if oid != "" {
			moved := map[string]string{"oid": oid[:len(oid)-1], "amount": oid[len(oid)-1:] + "|" + amount, "mdStatus": mdStatus}
			if moved["amount"] != amount && VerifyNestPayV3(key, signed, moved) {
				t.Fatal("a shifted separator verified")
			}
		}
	})
}
