package hashing

// webhookScheme is fixed: the webhook body hash is ours alone, so there is no
// existing receiver whose style it would have to follow.
const webhookScheme = SchemeHMACSHA512

// WebhookFields are the webhook body values that its hash covers, written
// exactly as they appear in the JSON body: EventTimestamp is the ISO-8601
// string at +03:00 and Amount has exactly two decimals.
type WebhookFields struct {
	Salt           string
	EventID        string
	EventTimestamp string
	OrderID        string
	TransactionID  string
	Amount         string
	Status         string
	SubStatus      string
}

// Values returns the fields in the order the contract signs them:
// salt|eventId|eventTimestamp|orderId|transactionId|amount|status|subStatus.
func (f WebhookFields) Values() []string {
	return []string{
		f.Salt,
		f.EventID,
		f.EventTimestamp,
		f.OrderID,
		f.TransactionID,
		f.Amount,
		f.Status,
		f.SubStatus,
	}
}

// SignWebhook returns the hash field of a webhook body:
// base64(HMAC-SHA512(WEBHOOK_HASH_KEY, salt|eventId|...|subStatus)).
func SignWebhook(key string, f WebhookFields) string {
	return webhookScheme.Sign(key, f.Values()...)
}

// VerifyWebhook reports whether hash matches the webhook fields, in constant
// time.
func VerifyWebhook(key, hash string, f WebhookFields) bool {
	return webhookScheme.Verify(key, hash, f.Values()...)
}
