package hashing

// ReturnFields are the return-url POST values that the hash covers, as the
// strings that are posted. Amount must already be formatted with exactly two
// decimals: the package signs text and never formats money, so what is
// signed is always what the receiver reads.
type ReturnFields struct {
	Salt          string
	OrderID       string
	SessionID     string
	TransactionID string
	Amount        string
	Installment   string
	Currency      string
	Status        string
	SubStatus     string
}

// Values returns the fields in the order the contract signs them:
// salt|orderId|sessionId|transactionId|amount|installment|currency|status|subStatus.
func (f ReturnFields) Values() []string {
	return []string{
		f.Salt,
		f.OrderID,
		f.SessionID,
		f.TransactionID,
		f.Amount,
		f.Installment,
		f.Currency,
		f.Status,
		f.SubStatus,
	}
}

// SignReturn returns the hash field of a return-url POST, made with the
// merchant's HASH_KEY.
func (s Scheme) SignReturn(key string, f ReturnFields) string {
	return s.Sign(key, f.Values()...)
}

// VerifyReturn reports whether hash matches the return-url fields, in
// constant time.
func (s Scheme) VerifyReturn(key, hash string, f ReturnFields) bool {
	return s.Verify(key, hash, f.Values()...)
}
