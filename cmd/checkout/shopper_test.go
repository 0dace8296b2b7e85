package main

import (
	"testing"

	"github.com/akinon-gateway/gateway/cmd/checkout/hostedpage"
)

func TestFillCard(t *testing.T) {
	cases := []struct {
		name        string
		choices     []string
		installment int
		want        string
		wantErr     bool
	}{
		{"single payment", nil, 0, "", false},
		{"3 installments offered", []string{"1", "2", "3"}, 3, "3", false},
		{"12 installments not offered", []string{"1", "2", "3"}, 12, "", true},
		{"installments on a foreign currency", nil, 3, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &hostedpage.Form{Fields: map[string][]string{"_csrf": {"tok"}}, Selects: map[string][]string{}}
			if tc.choices != nil {
				f.Selects["installment"] = tc.choices
			}
			err := fillCard(f, Payment{CardNumber: "4242 4242 4242 4242", Expiry: "12/30", Installment: tc.installment})
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if f.Fields.Get("installment") != tc.want || f.Fields.Get("cardNumber") != "4242 4242 4242 4242" ||
				f.Fields.Get("expiry") != "12/30" || f.Fields.Get("cvc") == "" || f.Fields.Get("_csrf") != "tok" {
				t.Errorf("fields %v", f.Fields)
			}
		})
	}
}
