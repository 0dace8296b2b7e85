package provider_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/provider"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in   string
		want provider.Money
		err  error
	}{
		{"100", 10000, nil},
		{"100.5", 10050, nil},
		{"100.50", 10050, nil},
		{"100.05", 10005, nil},
		{"0.01", 1, nil},
		{"0.1", 10, nil},
		{"0.99", 99, nil},
		{"1", 100, nil},
		{"999999999.99", provider.MaxMoney, nil},

		// Three decimals, even when the third is a zero: one spelling per amount.
		{"100.505", 0, provider.ErrMoneyDecimals},
		{"100.500", 0, provider.ErrMoneyDecimals},
		{"0.001", 0, provider.ErrMoneyDecimals},

		// Zero and negatives.
		{"0", 0, provider.ErrMoneyNotPos},
		{"0.0", 0, provider.ErrMoneyNotPos},
		{"0.00", 0, provider.ErrMoneyNotPos},
		{"-0", 0, provider.ErrMoneyNotPos},
		{"-1", 0, provider.ErrMoneyNotPos},
		{"-100.50", 0, provider.ErrMoneyNotPos},

		// Too large.
		{"1000000000", 0, provider.ErrMoneyTooLarge},
		{"1000000000.00", 0, provider.ErrMoneyTooLarge},
		{"999999999999.99", 0, provider.ErrMoneyTooLarge},
		{"1234567890123", 0, provider.ErrMoneyTooLarge},
		{"99999999999999999999999999999999", 0, provider.ErrMoneyTooLarge},

		// Exponents, leading zeros, signs, spaces, separators, words.
		{"1e2", 0, provider.ErrMoneyMalformed},
		{"1.005e2", 0, provider.ErrMoneyMalformed},
		{"1E2", 0, provider.ErrMoneyMalformed},
		{"1.5e-1", 0, provider.ErrMoneyMalformed},
		{"0100", 0, provider.ErrMoneyMalformed},
		{"00.50", 0, provider.ErrMoneyMalformed},
		{"007", 0, provider.ErrMoneyMalformed},
		{"+1", 0, provider.ErrMoneyMalformed},
		{"--1", 0, provider.ErrMoneyMalformed},
		{"-", 0, provider.ErrMoneyMalformed},
		{"", 0, provider.ErrMoneyMalformed},
		{".5", 0, provider.ErrMoneyMalformed},
		{"1.", 0, provider.ErrMoneyMalformed},
		{"1..0", 0, provider.ErrMoneyMalformed},
		{"1.2.3", 0, provider.ErrMoneyMalformed},
		{" 1", 0, provider.ErrMoneyMalformed},
		{"1 ", 0, provider.ErrMoneyMalformed},
		{"1,50", 0, provider.ErrMoneyMalformed},
		{"1_000", 0, provider.ErrMoneyMalformed},
		{"0x10", 0, provider.ErrMoneyMalformed},
		{"NaN", 0, provider.ErrMoneyMalformed},
		{"Infinity", 0, provider.ErrMoneyMalformed},
		{"١٠٠", 0, provider.ErrMoneyMalformed}, // Arabic-Indic digits
		{`"100.50"`, 0, provider.ErrMoneyMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := provider.ParseMoney(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseMoney(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("ParseMoney(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseJSONMoney(t *testing.T) {
	tests := []struct {
		raw  string
		want provider.Money
		err  error
	}{
		{"100.50", 10050, nil},
		{" 100.50\n", 10050, nil},
		{"1", 100, nil},
		{`"100.50"`, 0, provider.ErrMoneyType},
		{`"100"`, 0, provider.ErrMoneyType},
		{"true", 0, provider.ErrMoneyType},
		{"null", 0, provider.ErrMoneyType},
		{"[100]", 0, provider.ErrMoneyType},
		{`{"amount":1}`, 0, provider.ErrMoneyType},
		{"NaN", 0, provider.ErrMoneyType},
		{"", 0, provider.ErrMoneyType},
		{"-5", 0, provider.ErrMoneyNotPos},
		{"0", 0, provider.ErrMoneyNotPos},
		{"1.005e2", 0, provider.ErrMoneyMalformed},
		{"100.505", 0, provider.ErrMoneyDecimals},
		{"1e400", 0, provider.ErrMoneyMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := provider.ParseJSONMoney([]byte(tt.raw))
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("ParseJSONMoney(%q) = %d, %v; want %d, %v", tt.raw, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestMoneyFormat(t *testing.T) {
	tests := []struct {
		m    provider.Money
		want string
	}{
		{0, "0.00"},
		{1, "0.01"},
		{5, "0.05"},
		{10, "0.10"},
		{99, "0.99"},
		{100, "1.00"},
		{10050, "100.50"},
		{10005, "100.05"},
		{-5, "-0.05"},
		{-10050, "-100.50"},
		{provider.MaxMoney, "999999999.99"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(tt.m), got, tt.want)
		}
		b, err := json.Marshal(struct {
			Amount provider.Money `json:"amount"`
		}{tt.m})
		if err != nil {
			t.Fatalf("marshal %d: %v", int64(tt.m), err)
		}
		if want := `{"amount":` + tt.want + `}`; string(b) != want {
			t.Errorf("JSON of %d = %s, want %s", int64(tt.m), b, want)
		}
	}
}

func TestMoneyWithRate(t *testing.T) {
	tests := []struct {
		m    provider.Money
		bp   int
		want provider.Money
	}{
		{10000, 0, 10000},
		{10000, -100, 10000},
		{10000, 150, 10150}, // 1.5 %
		{10000, 300, 10300},
		{9999, 150, 10149}, // 149.985 minor units of interest round to 150
		{3, 150, 3},        // 0.045 rounds to 0
		{1, 5000, 2},       // 0.5 rounds half up
		{1, 4999, 1},
		{provider.MaxMoney, 10000, 2 * provider.MaxMoney},
	}
	for _, tt := range tests {
		if got := tt.m.WithRate(tt.bp); got != tt.want {
			t.Errorf("Money(%d).WithRate(%d) = %d, want %d", int64(tt.m), tt.bp, got, tt.want)
		}
	}
}

// FuzzParseMoney reads arbitrary text as an amount: it never panics, an
// accepted amount is in range and prints back to text that parses to the
// same amount, and every valid amount survives format then parse.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"100.50", "0.01", "999999999.99", "1e2", "-1", "00.1", "1.005", "", "١"} {
		f.Add(s, int64(10050))
	}
	f.Add("0", int64(-1))
	f.Add("1", int64(1<<62))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		m, err := provider.ParseMoney(s)
		if err == nil {
			if m <= 0 || m > provider.MaxMoney {
				t.Fatalf("ParseMoney(%q) = %d, outside (0, MaxMoney]", s, m)
			}
			back, err := provider.ParseMoney(m.String())
			if err != nil || back != m {
				t.Fatalf("ParseMoney(%q) = %d, but its text %q parses to %d, %v", s, m, m.String(), back, err)
			}
		} else if m != 0 {
			t.Fatalf("ParseMoney(%q) failed with %v but returned %d", s, err, m)
		}
		// A JSON value is the number's text, give or take the spaces around it.
		if jm, err := provider.ParseJSONMoney([]byte(s)); err == nil {
			if pm, err := provider.ParseMoney(strings.TrimSpace(s)); err != nil || pm != jm {
				t.Fatalf("ParseJSONMoney(%q) = %d but ParseMoney of its text = %d, %v", s, jm, pm, err)
			}
		}

		if n < 0 {
			n = -(n + 1)
		}
		valid := provider.Money(n%int64(provider.MaxMoney) + 1)
		back, err := provider.ParseMoney(valid.String())
		if err != nil || back != valid {
			t.Fatalf("format %d = %q, parse gives %d, %v", int64(valid), valid.String(), back, err)
		}
	})
}
