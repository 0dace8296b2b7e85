package nestpay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/processors/nestpay"
)

// TestCheck: -check-config's proof of a section passes against the fake
// bank with the store's credentials, names the refusal with a wrong API
// password or an endpoint nobody answers, and never shows the password.
func TestCheck(t *testing.T) {
	bank, _, _, _ := startBank(t)
	for _, tc := range []struct {
		name, password, apiURL, refused string
	}{
		{"the store's credentials", bank.Store.APIPassword, bank.APIURL, ""},
		{"a wrong API password", "guess-s3cr3t", bank.APIURL, "authentication failed"},
		{"no bank there", bank.Store.APIPassword, "http://127.0.0.1:9/fim/api", "not sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := nestpay.New(nestpay.Settings{ClientID: bank.Store.ClientID, StoreKey: bank.Store.StoreKey,
				APIUser: bank.Store.APIUser, APIPassword: tc.password, GateURL: bank.GateURL, APIURL: tc.apiURL, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = p.Check(t.Context())
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("Check: %v, want an error with %q", err, tc.refused)
			case err != nil && strings.Contains(err.Error(), "s3cr3t"):
				t.Fatalf("Check's error shows the password: %v", err)
			}
		})
	}
}
