package provider_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

func TestLuhn(t *testing.T) {
	tests := []struct {
		digits string
		want   bool
	}{
		{"4242424242424242", true},
		{"5528790000000008", true},
		{"4000002760003184", true},
		{"4100000000000019", true},
		{"79927398713", true},
		{"4242424242424241", false},
		{"4242424242424243", false},
		{"1234567812345678", false},
		{"", false},
		{"42424242424242a2", false},
		{"0", true},
	}
	for _, tt := range tests {
		if got := provider.Luhn(tt.digits); got != tt.want {
			t.Errorf("Luhn(%q) = %v, want %v", tt.digits, got, tt.want)
		}
	}
}

func TestCardFormParse(t *testing.T) {
	// The form is read at a fixed moment: 22 November 2026, Istanbul.
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	valid := provider.CardForm{CardHolder: "Ayşe Yılmaz", CardNumber: "4242424242424242", Expiry: "12/30", CVC: "123"}
	with := func(f func(*provider.CardForm)) provider.CardForm {
		c := valid
		f(&c)
		return c
	}
	tryOnly := []int{1, 2, 3, 6, 9, 12}
	tests := []struct {
		name         string
		form         provider.CardForm
		installments []int
		bad          []string // fields refused, in order
		installment  int
	}{
		{"valid", valid, []int{1}, nil, 1},
		{"spaces and dashes in the number", with(func(c *provider.CardForm) { c.CardNumber = "4242 4242-4242 4242" }), []int{1}, nil, 1},
		{"19 digits", with(func(c *provider.CardForm) { c.CardNumber = "4242424242424242428" }), []int{1}, nil, 1},
		{"12 digits", with(func(c *provider.CardForm) { c.CardNumber = "424242424242" }), []int{1}, nil, 1},
		{"fails Luhn", with(func(c *provider.CardForm) { c.CardNumber = "4242424242424241" }), []int{1}, []string{"cardNumber"}, 0},
		{"11 digits, Luhn-valid", with(func(c *provider.CardForm) { c.CardNumber = "42424242420" }), []int{1}, []string{"cardNumber"}, 0},
		{"20 digits, Luhn-valid", with(func(c *provider.CardForm) { c.CardNumber = "42424242424242424242" }), []int{1}, []string{"cardNumber"}, 0},
		{"letters", with(func(c *provider.CardForm) { c.CardNumber = "4242abcd42424242" }), []int{1}, []string{"cardNumber"}, 0},
		{"empty number", with(func(c *provider.CardForm) { c.CardNumber = "" }), []int{1}, []string{"cardNumber"}, 0},

		{"expires this month", with(func(c *provider.CardForm) { c.Expiry = "11/26" }), []int{1}, nil, 1},
		{"expired last month", with(func(c *provider.CardForm) { c.Expiry = "10/26" }), []int{1}, []string{"expiry"}, 0},
		{"expired last year", with(func(c *provider.CardForm) { c.Expiry = "12/25" }), []int{1}, []string{"expiry"}, 0},
		{"December rolls into the next year", with(func(c *provider.CardForm) { c.Expiry = "12/26" }), []int{1}, nil, 1},
		{"month 13", with(func(c *provider.CardForm) { c.Expiry = "13/30" }), []int{1}, []string{"expiry"}, 0},
		{"month 00", with(func(c *provider.CardForm) { c.Expiry = "00/30" }), []int{1}, []string{"expiry"}, 0},
		{"four-digit year", with(func(c *provider.CardForm) { c.Expiry = "12/2030" }), []int{1}, []string{"expiry"}, 0},
		{"no slash", with(func(c *provider.CardForm) { c.Expiry = "1230" }), []int{1}, []string{"expiry"}, 0},
		{"single-digit month", with(func(c *provider.CardForm) { c.Expiry = "1/30" }), []int{1}, []string{"expiry"}, 0},
		{"dash", with(func(c *provider.CardForm) { c.Expiry = "12-30" }), []int{1}, []string{"expiry"}, 0},
		{"empty expiry", with(func(c *provider.CardForm) { c.Expiry = "" }), []int{1}, []string{"expiry"}, 0},

		{"four-digit cvc", with(func(c *provider.CardForm) { c.CVC = "1234" }), []int{1}, nil, 1},
		{"two-digit cvc", with(func(c *provider.CardForm) { c.CVC = "12" }), []int{1}, []string{"cvc"}, 0},
		{"five-digit cvc", with(func(c *provider.CardForm) { c.CVC = "12345" }), []int{1}, []string{"cvc"}, 0},
		{"letters in cvc", with(func(c *provider.CardForm) { c.CVC = "12a" }), []int{1}, []string{"cvc"}, 0},
		{"empty cvc", with(func(c *provider.CardForm) { c.CVC = "" }), []int{1}, []string{"cvc"}, 0},

		{"empty holder", with(func(c *provider.CardForm) { c.CardHolder = "  " }), []int{1}, []string{"cardHolder"}, 0},
		{"holder of 65 letters", with(func(c *provider.CardForm) { c.CardHolder = strings.Repeat("ş", 65) }), []int{1}, []string{"cardHolder"}, 0},

		{"installment offered", with(func(c *provider.CardForm) { c.Installment = "3" }), tryOnly, nil, 3},
		{"installment 1", with(func(c *provider.CardForm) { c.Installment = "1" }), []int{1}, nil, 1},
		{"installment not offered", with(func(c *provider.CardForm) { c.Installment = "3" }), []int{1}, []string{"installment"}, 0},
		{"installment 4 is never a choice", with(func(c *provider.CardForm) { c.Installment = "4" }), tryOnly, []string{"installment"}, 0},
		{"installment not a number", with(func(c *provider.CardForm) { c.Installment = "three" }), tryOnly, []string{"installment"}, 0},

		{"everything wrong", provider.CardForm{CardNumber: "1", Expiry: "x", CVC: "x", Installment: "x"}, []int{1},
			[]string{"cardHolder", "cardNumber", "expiry", "cvc", "installment"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := tt.form.Parse(at, tt.installments)
			var fields []string
			for _, e := range errs {
				fields = append(fields, e.Field)
				if e.Code != provider.CodeInvalidField || e.Message == "" {
					t.Errorf("field %s: error %+v", e.Field, e)
				}
				// A refusal must never repeat what the shopper typed.
				for _, typed := range []string{tt.form.CardNumber, tt.form.Expiry, tt.form.CVC} {
					if len(typed) >= 3 && strings.Contains(e.Error(), typed) {
						t.Errorf("the error %q repeats the typed value %q", e.Error(), typed)
					}
				}
			}
			if !slices.Equal(fields, tt.bad) {
				t.Fatalf("refused fields = %v, want %v", fields, tt.bad)
			}
			if tt.bad == nil && got.Installment != tt.installment {
				t.Fatalf("installment = %d, want %d", got.Installment, tt.installment)
			}
		})
	}
	t.Run("parsed card", func(t *testing.T) {
		got, errs := with(func(c *provider.CardForm) { c.CardNumber = "4242 4242 4242 4242"; c.CardHolder = " Ayşe " }).Parse(at, []int{1})
		if errs != nil {
			t.Fatal(errs)
		}
		want := provider.Card{Holder: "Ayşe", Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"}
		if got.Card != want {
			c := got.Card // its own formatting is masked; these are test values
			t.Fatalf("card = {%q %q %d %d %q}", c.Holder, c.Number, c.ExpMonth, c.ExpYear, c.CVC)
		}
	})
}

// FuzzCardForm feeds what a browser might post: Parse never panics, and a
// form it accepts is a Luhn-valid number with a future expiry and a cvc of
// 3 or 4 digits.
func FuzzCardForm(f *testing.F) {
	f.Add("A B", "4242424242424242", "12/30", "123", "1")
	f.Add("", "4242 4242 4242 4242", "1/3", "12345", "x")
	f.Add("\xff", "----", "99/99", "", "12")
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, holder, number, expiry, cvc, inst string) {
		form := provider.CardForm{CardHolder: holder, CardNumber: number, Expiry: expiry, CVC: cvc, Installment: inst}
		got, errs := form.Parse(at, provider.InstallmentCounts)
		if errs != nil {
			return
		}
		c := got.Card
		if !provider.Luhn(c.Number) || len(c.Number) < 12 || len(c.Number) > 19 {
			t.Fatalf("accepted number %q", c.Number)
		}
		if len(c.CVC) < 3 || len(c.CVC) > 4 {
			t.Fatalf("accepted cvc %q", c.CVC)
		}
		if c.ExpMonth < 1 || c.ExpMonth > 12 || c.ExpYear < 2026 {
			t.Fatalf("accepted expiry %d/%d", c.ExpMonth, c.ExpYear)
		}
		if !slices.Contains(provider.InstallmentCounts, got.Installment) {
			t.Fatalf("accepted installment %d", got.Installment)
		}
	})
}
