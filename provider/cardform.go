package provider

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CardForm is the hosted page's form as the shopper sent it. Field names
// in errors are the form's own (cardNumber, expiry, …). Messages never
// repeat what the shopper typed: that would put card data in a page or a
// log.
type CardForm struct {
	CardHolder  string
	CardNumber  string
	Expiry      string // MM/YY
	CVC         string
	Installment string
	// ReturnBase is not typed by the shopper: it is the gateway's return
	// URL for the session, to which the attempt is appended for a bank
	// that sends the shopper back.
	ReturnBase string
}

// ParsedCard is a validated form.
type ParsedCard struct {
	Card        Card
	Installment int
}

// Parse validates the form for a session at time now. installments are
// the counts the page offered.
func (f CardForm) Parse(now time.Time, installments []int) (ParsedCard, FieldErrors) {
	var errs FieldErrors
	bad := func(field, msg string) {
		errs = append(errs, &Error{Code: CodeInvalidField, Field: field, Message: msg})
	}

	holder := strings.TrimSpace(f.CardHolder)
	if holder == "" || utf8.RuneCountInString(holder) > 64 || !utf8.ValidString(holder) {
		bad("cardHolder", "enter the name on the card")
	}
	number, ok := cardNumber(f.CardNumber)
	if !ok {
		bad("cardNumber", "the card number is not valid")
	}
	month, year, msg := expiry(f.Expiry, now)
	if msg != "" {
		bad("expiry", msg)
	}
	if n := len(f.CVC); n < 3 || n > 4 || !allDigits(f.CVC) {
		bad("cvc", "the security code has 3 or 4 digits")
	}
	inst, ok := installment(f.Installment, installments)
	if !ok {
		bad("installment", "choose one of the installment options")
	}
	if len(errs) > 0 {
		return ParsedCard{}, errs
	}
	return ParsedCard{
		Card:        Card{Holder: holder, Number: number, ExpMonth: month, ExpYear: year, CVC: f.CVC},
		Installment: inst,
	}, nil
}

// cardNumber is the number as typed without its spaces and dashes, and
// whether it is a valid card number.
func cardNumber(raw string) (string, bool) {
	number := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, raw)
	return number, len(number) >= 12 && len(number) <= 19 && allDigits(number) && Luhn(number)
}

// expiry reads MM/YY and says what is wrong with it at now, "" if nothing.
func expiry(raw string, now time.Time) (month, year int, msg string) {
	month, year, ok := parseExpiry(raw)
	switch {
	case !ok:
		return month, year, "enter the expiry as MM/YY"
	case !time.Date(year, time.Month(month)+1, 1, 0, 0, 0, 0, contractZone).After(now):
		return month, year, "the card has expired"
	}
	return month, year, ""
}

// installment reads the chosen count, 1 when none was chosen; false when
// it is not one the page offered.
func installment(raw string, offered []int) (int, bool) {
	if raw == "" {
		return 1, true
	}
	n, err := strconv.Atoi(raw)
	return n, err == nil && containsInt(offered, n)
}

// Luhn reports whether a digit string passes the Luhn check.
func Luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return len(digits) > 0 && sum%10 == 0
}

func parseExpiry(s string) (month, year int, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) != 5 || s[2] != '/' || !allDigits(s[:2]) || !allDigits(s[3:]) {
		return 0, 0, false
	}
	month, _ = strconv.Atoi(s[:2])
	year, _ = strconv.Atoi(s[3:])
	if month < 1 || month > 12 {
		return 0, 0, false
	}
	return month, 2000 + year, true
}

func containsInt(list []int, n int) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}
