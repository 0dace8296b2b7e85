package hashing

import (
	"strings"
	"testing"
)

func TestParseScheme(t *testing.T) {
	cases := []struct {
		name    string
		want    Scheme
		wantErr bool
	}{
		{"", SchemeHMACSHA512, false},
		{"hmac-sha512", SchemeHMACSHA512, false},
		{"sha512-keylast", SchemeSHA512KeyLast, false},
		{"HMAC-SHA512", "", true},
		{" hmac-sha512", "", true},
		{"sha256", "", true},
		{"md5", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseScheme(tc.name)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseScheme(%q) = %q, want an error", tc.name, got)
				}
				// The operator fixing the configuration needs the choices.
				for _, allowed := range []Scheme{SchemeHMACSHA512, SchemeSHA512KeyLast} {
					if !strings.Contains(err.Error(), string(allowed)) {
						t.Errorf("error %q does not name %q", err, allowed)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseScheme(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
			}
		})
	}
}

func TestZeroSchemeSignsAsDefault(t *testing.T) {
	const key = "hk_test_0123456789abcdefghijklmnopqrstuv"
	var zero Scheme
	got := zero.Sign(key, "a", "b")
	if want := DefaultScheme.Sign(key, "a", "b"); got != want {
		t.Errorf("zero Scheme signed %s, default signs %s", got, want)
	}
	if !zero.Verify(key, got, "a", "b") {
		t.Error("zero Scheme does not verify its own hash")
	}
}

func TestUnknownScheme(t *testing.T) {
	const key = "hk_test_0123456789abcdefghijklmnopqrstuv"
	unknown := Scheme("sha1")
	hash := SchemeHMACSHA512.Sign(key, "a")
	if unknown.Verify(key, hash, "a") {
		t.Error("an unknown scheme verified a hash")
	}
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("Sign with an unknown scheme did not panic")
		}
		if msg, _ := r.(string); strings.Contains(msg, key) {
			t.Errorf("panic message reveals the key: %q", msg)
		}
	}()
	unknown.Sign(key, "a")
}

// TestSeparatorIsPartOfTheMessage guards against signing the fields run
// together: "ab"+"c" and "a"+"bc" must not share a hash.
func TestSeparatorIsPartOfTheMessage(t *testing.T) {
	const key = "hk_test_0123456789abcdefghijklmnopqrstuv"
	for _, s := range []Scheme{SchemeHMACSHA512, SchemeSHA512KeyLast} {
		if s.Sign(key, "ab", "c") == s.Sign(key, "a", "bc") {
			t.Errorf("%s: shifting a character between fields keeps the hash", s)
		}
		if s.Sign(key, "a", "") == s.Sign(key, "a") {
			t.Errorf("%s: a trailing empty field is not signed", s)
		}
	}
}
