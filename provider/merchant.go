package provider

// Merchant is what the payment rules need to know of a shop: its id, the
// installment plans it offers and where its shoppers may be sent back.
// Credentials and keys are the HTTP adapter's business.
type Merchant struct {
	ID string
	// InstallmentRates maps an installment count to its interest in basis
	// points (100 = 1 %). Counts not in the map are not offered; 0 means
	// the merchant absorbs the interest.
	InstallmentRates map[int]int
	// ReturnHosts, when not empty, are the only hosts a returnUrl may name.
	ReturnHosts []string
}

// InstallmentCounts are the counts the contract allows.
var InstallmentCounts = []int{1, 2, 3, 6, 9, 12}

// DefaultInstallmentRates offers every count at 0 %.
func DefaultInstallmentRates() map[int]int {
	m := make(map[int]int, len(InstallmentCounts))
	for _, n := range InstallmentCounts {
		m[n] = 0
	}
	return m
}

// Installments lists the counts offered for a currency, in order. Only TRY
// has installments; 1 (a single payment) is always offered.
func (m *Merchant) Installments(currency string) []int {
	out := []int{1}
	if currency != "TRY" {
		return out
	}
	for _, n := range InstallmentCounts {
		if _, ok := m.InstallmentRates[n]; ok && n > 1 {
			out = append(out, n)
		}
	}
	return out
}
