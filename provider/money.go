package provider

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Money is an amount in minor units (1/100 of the currency unit). Every
// amount on a money path is a Money; floats never touch one, because a
// float cannot hold 0.10 exactly and a payment gateway must.
type Money int64

// MaxMoney bounds every amount the gateway accepts: 999,999,999.99. Larger
// values are a client bug or an attack, and the bound keeps interest and
// sums far away from int64 overflow.
const MaxMoney Money = 99_999_999_999

// Reasons a money value is refused. They are distinct so a caller can tell
// a wrong JSON type (a string "10.00") from a wrong number.
var (
	ErrMoneyType      = errors.New("must be a JSON number")
	ErrMoneyMalformed = errors.New("must be a plain decimal number such as 100.50")
	ErrMoneyDecimals  = errors.New("must have at most 2 decimals")
	ErrMoneyNotPos    = errors.New("must be greater than 0")
	ErrMoneyTooLarge  = errors.New("is too large")
)

// ParseMoney reads the text of a JSON number with at most two decimals.
// Exponents, signs other than a leading minus, and leading zeros are
// refused so that there is exactly one way to write an amount.
func ParseMoney(s string) (Money, error) {
	if s == "" {
		return 0, ErrMoneyMalformed
	}
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	intPart, frac, err := moneyParts(s)
	if err != nil {
		return 0, err
	}
	units, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, ErrMoneyMalformed
	}
	for len(frac) < 2 {
		frac += "0"
	}
	cents, _ := strconv.ParseInt(frac, 10, 64)
	m := Money(units*100 + cents)
	switch {
	case neg || m == 0:
		return 0, ErrMoneyNotPos
	case m > MaxMoney:
		return 0, ErrMoneyTooLarge
	}
	return m, nil
}

// moneyParts splits an unsigned amount at its dot, refusing any other
// way to write it than the one.
func moneyParts(s string) (intPart, frac string, err error) {
	intPart, frac, hasDot := cutByte(s, '.')
	switch {
	case intPart == "" || !allDigits(intPart) || (len(intPart) > 1 && intPart[0] == '0'):
		return "", "", ErrMoneyMalformed
	case hasDot && (frac == "" || !allDigits(frac)):
		return "", "", ErrMoneyMalformed
	case len(frac) > 2:
		return "", "", ErrMoneyDecimals
	case len(intPart) > 12:
		return "", "", ErrMoneyTooLarge
	}
	return intPart, frac, nil
}

// ParseJSONMoney reads a raw JSON value; anything but a number is
// ErrMoneyType, so "100.50" in quotes is a wrong type, not an amount.
func ParseJSONMoney(raw []byte) (Money, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, ErrMoneyType
	}
	return ParseMoney(string(raw))
}

// String formats with exactly two decimals: 100.50, 0.05.
func (m Money) String() string {
	sign := ""
	v := int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// MarshalJSON writes a JSON number with exactly two decimals, as the
// contract prints amounts (100.50, never 100.5).
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON reads a JSON number with at most two decimals, so a
// reader of the gateway's own bodies gets exact minor units back.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := ParseJSONMoney(b)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// WithRate adds interest given in basis points (100 bp = 1 %), rounding
// half up to the minor unit, in integer arithmetic.
func (m Money) WithRate(bp int) Money {
	if bp <= 0 {
		return m
	}
	interest := (int64(m)*int64(bp) + 5_000) / 10_000
	return m + Money(interest)
}

func cutByte(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
