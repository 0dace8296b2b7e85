package commerce

import (
	"fmt"
	"strconv"
	"strings"
)

// Amount is money in minor units (kuruş, cents). The contract sends
// amounts as JSON numbers with at most two decimals; Amount reads and
// writes them as text, never through a float.
type Amount int64

// maxAmount keeps arithmetic far from overflow: a trillion in major units.
const maxAmount = Amount(1e14)

// ParseAmount reads "100", "100.5" or "100.50". Signs, exponents and more
// than two decimals are refused.
func ParseAmount(s string) (Amount, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !digits(whole) || (hasDot && (frac == "" || len(frac) > 2 || !digits(frac))) {
		return 0, fmt.Errorf("amount %q is not a number with at most 2 decimals", s)
	}
	if len(whole) > 13 {
		return 0, fmt.Errorf("amount %q is too large", s)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	a := Amount(w*100 + f)
	if a > maxAmount {
		return 0, fmt.Errorf("amount %q is too large", s)
	}
	return a, nil
}

// MustAmount is ParseAmount for literals in code.
func MustAmount(s string) Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String writes exactly two decimals: 100.50.
func (a Amount) String() string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	return fmt.Sprintf("%s%d.%02d", sign, a/100, a%100)
}

// MarshalJSON writes a JSON number with two decimals, as the contract
// prints amounts.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON reads a JSON number (or, leniently, a numeric string).
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
