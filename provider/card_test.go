package provider_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/provider"
)

// TestCardNeverPrints formats a card, and a request carrying one, every
// way a log line or an error could, and finds neither the number, the
// expiry nor the cvc.
func TestCardNeverPrints(t *testing.T) {
	card := provider.Card{Holder: "Ayşe Yılmaz", Number: "4242424242424242", ExpMonth: 7, ExpYear: 2037, CVC: "739"}
	req := provider.AuthoriseRequest{Reference: "ref", Type: provider.Sale, Amount: 10050, Currency: "TRY", Installment: 1, Card: card}
	jsonOf := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		return string(b)
	}
	renderings := map[string]string{
		"String":           card.String(),
		"%v":               fmt.Sprintf("%v", card),
		"%+v":              fmt.Sprintf("%+v", card),
		"%#v":              fmt.Sprintf("%#v", card),
		"%s in a sentence": fmt.Sprintf("paid with %s", card),
		"%q":               fmt.Sprintf("%q", card),
		"%v pointer":       fmt.Sprintf("%v", &card),
		"%#v pointer":      fmt.Sprintf("%#v", &card),
		"JSON":             jsonOf(card),
		"JSON pointer":     jsonOf(&card),
		"request %v":       fmt.Sprintf("%v", req),
		"request %+v":      fmt.Sprintf("%+v", req),
		"request %#v":      fmt.Sprintf("%#v", req),
		"request JSON":     jsonOf(req),
		"in a slice %v":    fmt.Sprintf("%v", []provider.Card{card}),
		"in a map %#v":     fmt.Sprintf("%#v", map[string]provider.Card{"c": card}),
		"wrapped error":    fmt.Errorf("authorise %v: %w", req, provider.ErrTransient).Error(),
		"JSON in any map":  jsonOf(map[string]any{"card": card}),
	}
	secrets := []string{card.Number, "4242 4242", "07/37", "7/37", "2037", card.CVC, "ExpMonth", "CVC"}
	for how, s := range renderings {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s prints %q: %s", how, secret, s)
			}
		}
		if how == "String" && s != "card 424242******4242" {
			t.Errorf("String() = %q, want BIN and last four only", s)
		}
	}
	if card.BIN() != "424242" || card.Last4() != "4242" {
		t.Errorf("BIN, Last4 = %q, %q", card.BIN(), card.Last4())
	}
	if short := (provider.Card{Number: "123"}); short.BIN() != "" || short.Last4() != "" {
		t.Errorf("a short number must give no BIN nor last four: %q %q", short.BIN(), short.Last4())
	}
}
