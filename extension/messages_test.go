package extension

import (
	"reflect"
	"testing"
)

// TestEveryTextInEveryLanguage holds the phrase table complete: a text of
// the hosted page left empty in a language would show as a blank.
func TestEveryTextInEveryLanguage(t *testing.T) {
	fields := []string{"cardHolder", "cardNumber", "expiry", "cvc", "installment"}
	for _, lang := range []struct {
		name string
		t    texts
	}{{"English", english}, {"Turkish", turkish}} {
		v := reflect.ValueOf(lang.t)
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String && f.String() == "" {
				t.Errorf("%s: %s is empty", lang.name, v.Type().Field(i).Name)
			}
		}
		for _, f := range fields {
			if lang.t.Field[f] == "" {
				t.Errorf("%s: the message of field %s is empty", lang.name, f)
			}
		}
	}
}
