package hashing

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func mustNewSalt(tb testing.TB) string {
	tb.Helper()
	s, err := NewSalt()
	if err != nil {
		tb.Fatalf("NewSalt: %v", err)
	}
	return s
}

func TestNewSalt(t *testing.T) {
	seen := make(map[string]bool, 1000)
	for range 1000 {
		s := mustNewSalt(t)
		if len(s) != SaltLength {
			t.Fatalf("salt %q has %d characters, want %d", s, len(s), SaltLength)
		}
		if strings.Trim(s, saltAlphabet) != "" {
			t.Fatalf("salt %q has characters outside [A-Za-z0-9]", s)
		}
		if seen[s] {
			t.Fatalf("salt %q drawn twice", s)
		}
		seen[s] = true
	}
}

func TestSaltAlphabet(t *testing.T) {
	if len(saltAlphabet) != 62 {
		t.Fatalf("alphabet has %d characters, want 62", len(saltAlphabet))
	}
	for _, c := range saltAlphabet {
		if strings.Count(saltAlphabet, string(c)) != 1 {
			t.Errorf("%q appears more than once", c)
		}
	}
	if saltAcceptBelow != 248 {
		t.Errorf("saltAcceptBelow = %d, want 248", saltAcceptBelow)
	}
}

func TestNewSaltFrom(t *testing.T) {
	cases := []struct {
		name  string
		bytes []byte
		want  string
	}{
		{
			name:  "first characters",
			bytes: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
			want:  "ABCDEFGHIJ",
		},
		{
			name:  "wraps after 62",
			bytes: []byte{25, 26, 51, 52, 61, 62, 123, 124, 185, 186},
			want:  "Zaz09A9A9A",
		},
		{
			// With a plain modulo, 255 would become 'H' and 248 'A'. They are
			// skipped, and the salt is completed from the next read.
			name:  "bytes from 248 up are skipped",
			bytes: []byte{255, 0, 248, 61, 249, 62, 250, 247, 251, 1, 2, 3, 4, 5, 6},
			want:  "A9A9BCDEFG",
		},
		{
			name:  "247 is the last accepted byte",
			bytes: []byte{247, 247, 247, 247, 247, 248, 247, 247, 247, 247, 247},
			want:  "9999999999",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewSaltFrom(bytes.NewReader(tc.bytes))
			if err != nil {
				t.Fatalf("NewSaltFrom: %v", err)
			}
			if got != tc.want {
				t.Errorf("NewSaltFrom = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNewSaltFromIsUniform feeds every byte value the same number of times;
// an unbiased mapping must then give every character the same count.
func TestNewSaltFromIsUniform(t *testing.T) {
	const rounds = 10
	var src []byte
	for range rounds {
		for b := range 256 {
			src = append(src, byte(b))
		}
	}
	r := bytes.NewReader(src)
	counts := make(map[rune]int)
	salts := rounds * saltAcceptBelow / SaltLength
	for range salts {
		s, err := NewSaltFrom(r)
		if err != nil {
			t.Fatalf("NewSaltFrom: %v", err)
		}
		for _, c := range s {
			counts[c]++
		}
	}
	want := rounds * saltAcceptBelow / len(saltAlphabet)
	for _, c := range saltAlphabet {
		if counts[c] != want {
			t.Errorf("%q drawn %d times, want %d", c, counts[c], want)
		}
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func TestNewSaltFromErrors(t *testing.T) {
	errBroken := errors.New("entropy source broken")
	cases := []struct {
		name   string
		r      io.Reader
		wantIs error
	}{
		{"reader error", errReader{errBroken}, errBroken},
		{"empty reader", bytes.NewReader(nil), io.EOF},
		{"runs out after skipped bytes", bytes.NewReader([]byte{0, 1, 2, 255, 255, 255, 255, 255, 255, 255}), io.EOF},
		{"short read", bytes.NewReader([]byte{0, 1, 2}), io.ErrUnexpectedEOF},
		{"only rejected bytes", constReader(255), errSaltSourceExhausted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewSaltFrom(tc.r)
			if !errors.Is(err, tc.wantIs) {
				t.Fatalf("NewSaltFrom = %q, %v; want error %v", got, err, tc.wantIs)
			}
			if got != "" {
				t.Errorf("a partial salt %q came back with the error", got)
			}
		})
	}
}
