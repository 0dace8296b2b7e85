package provider_test

import (
	"testing"

	"github.com/akinon-gateway/gateway/provider"
)

// TestVoidAmount: a void reverses what the payment holds now. Before a
// capture that is the authorisation (released); after one, the captured
// amount not refunded (reversed), never the authorisation: voiding an
// AUTH of 100.00 captured for 50.00 asks the bank for 50.00.
func TestVoidAmount(t *testing.T) {
	tests := []struct {
		typ                            provider.PaymentType
		phase                          provider.Phase
		authorised, captured, refunded provider.Money
		want                           provider.Money
	}{
		{provider.Auth, provider.PhaseAuthorised, 10000, 0, 0, 10000},
		{provider.Auth, provider.PhasePurchased, 10000, 10000, 0, 10000},
		{provider.Auth, provider.PhasePurchased, 10000, 5000, 0, 5000},
		{provider.Auth, provider.PhasePurchased, 10000, 1, 0, 1},
		{provider.Sale, provider.PhaseAuthorised, 12050, 0, 0, 12050},
		{provider.Sale, provider.PhasePurchased, 12050, 12050, 0, 12050},
		// Refunds block a void (refunds_exist), but the amount rule holds.
		{provider.Sale, provider.PhasePurchased, 12050, 12050, 2050, 10000},
		{provider.Auth, provider.PhasePurchased, 10000, 5000, 1000, 4000},
		// Installment interest is part of what was taken.
		{provider.Sale, provider.PhasePurchased, 10300, 10300, 0, 10300},
	}
	for _, tt := range tests {
		s := &provider.Session{Type: tt.typ, Phase: tt.phase, Authorised: tt.authorised, Captured: tt.captured, Refunded: tt.refunded}
		if got := provider.VoidAmount(s); got != tt.want {
			t.Errorf("%s %s authorised %s captured %s refunded %s: void asks %s, want %s",
				tt.typ, tt.phase, tt.authorised, tt.captured, tt.refunded, got, tt.want)
		}
	}
}
