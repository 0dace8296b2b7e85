package nestpay_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay"
)

func validSettings() nestpay.Settings {
	return nestpay.Settings{ClientID: "700", StoreKey: "store-SECRET", APIUser: "api", APIPassword: "pw-SECRET",
		GateURL: "https://bank.example/fim/est3Dgate", APIURL: "https://bank.example/fim/api"}
}

func TestSettingsValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*nestpay.Settings)
		want   string
	}{
		{name: "valid", change: func(*nestpay.Settings) {}},
		{name: "no client id", change: func(s *nestpay.Settings) { s.ClientID = "" }, want: "clientId: is required"},
		{name: "no store key", change: func(s *nestpay.Settings) { s.StoreKey = "" }, want: "storeKey: is required"},
		{name: "no API password", change: func(s *nestpay.Settings) { s.APIPassword = "" }, want: "apiPassword: is required"},
		{name: "relative gate", change: func(s *nestpay.Settings) { s.GateURL = "/fim/est3Dgate" }, want: "gateUrl:"},
		{name: "ftp API", change: func(s *nestpay.Settings) { s.APIURL = "ftp://bank.example/api" }, want: "apiUrl:"},
		{name: "3d_pay model", change: func(s *nestpay.Settings) { s.StoreType = "3d_pay" }, want: "storeType:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validSettings()
			c.change(&s)
			err := s.Validate()
			if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, c.want)
			}
		})
	}
}

func TestSettingsMaskSecrets(t *testing.T) {
	s := validSettings()
	for _, form := range []string{s.String(), fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s)} {
		if strings.Contains(form, "SECRET") {
			t.Errorf("%q shows a secret", form)
		}
	}
}

// TestAuthoriseForm shows the 3D gate form: the protocol's fields, the
// amount in the bank's decimals, TRY as 949, installments passed through,
// a ver3 hash over every field, and the card marked secret.
func TestAuthoriseForm(t *testing.T) {
	p, err := nestpay.New(validSettings())
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Authorise(t.Context(), provider.AuthoriseRequest{Reference: "ord-9", Type: provider.Sale, Amount: 12550,
		Currency: "TRY", Installment: 3, ReturnURL: "https://gw.example/pay/s1/return/a1", Locale: "tr",
		Card: provider.Card{Number: "4000002760003184", ExpMonth: 3, ExpYear: 2031, CVC: "987"}})
	if err != nil || res.Outcome != provider.Challenge || res.Redirect == nil {
		t.Fatalf("Authorise = %+v, %v; want a Challenge with a redirect", res, err)
	}
	fields := map[string]string{}
	secret := map[string]bool{}
	for _, f := range res.Redirect.Fields {
		fields[f.Name], secret[f.Name] = f.Value, f.Secret
	}
	want := map[string]string{"clientid": "700", "storetype": "3d", "TranType": "PreAuth", "amount": "125.50",
		"currency": "949", "oid": "ord-9", "okUrl": "https://gw.example/pay/s1/return/a1",
		"failUrl": "https://gw.example/pay/s1/return/a1", "lang": "tr", "taksit": "3", "hashAlgorithm": "ver3",
		"pan": "4000002760003184", "Ecom_Payment_Card_ExpDate_Month": "03", "Ecom_Payment_Card_ExpDate_Year": "31", "cv2": "987"}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, fields[k], v)
		}
	}
	for _, k := range []string{"pan", "cv2", "Ecom_Payment_Card_ExpDate_Month", "Ecom_Payment_Card_ExpDate_Year"} {
		if !secret[k] {
			t.Errorf("field %s is not marked secret", k)
		}
	}
	if res.Redirect.URL != "https://bank.example/fim/est3Dgate" || res.Redirect.Method != "POST" {
		t.Errorf("redirect to %s %s", res.Redirect.Method, res.Redirect.URL)
	}
	if !hashing.VerifyNestPayV3("store-SECRET", fields["hash"], fields) || fields["rnd"] == "" {
		t.Error("the form's hash does not verify with the store key")
	}
	if strings.Contains(fmt.Sprintf("%+v", res), "4000002760003184") {
		t.Error("the result prints the card number")
	}
}
