package webhook

import (
	"encoding/json"
	"time"

	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
)

// EventType is the one event type the contract defines.
const EventType = "PAYMENT_STATUS_CHANGED"

// Body is the webhook's JSON, in the contract's field order.
type Body struct {
	EventID        string         `json:"eventId"`
	EventType      string         `json:"eventType"`
	EventTimestamp string         `json:"eventTimestamp"`
	OrderID        string         `json:"orderId"`
	SessionID      string         `json:"sessionId"`
	TransactionID  string         `json:"transactionId"`
	Status         string         `json:"status"`
	SubStatus      string         `json:"subStatus"`
	Amount         provider.Money `json:"amount"`
	Currency       string         `json:"currency"`
	Installment    int            `json:"installment"`
	Salt           string         `json:"salt"`
	Hash           string         `json:"hash"`
}

// Fields are the signed values, written as they appear in the body.
func (b Body) Fields() hashing.WebhookFields {
	return hashing.WebhookFields{Salt: b.Salt, EventID: b.EventID, EventTimestamp: b.EventTimestamp,
		OrderID: b.OrderID, TransactionID: b.TransactionID, Amount: b.Amount.String(),
		Status: b.Status, SubStatus: b.SubStatus}
}

// Encoder signs events for their merchant's webhook; it is the service's
// provider.EventEncoder.
type Encoder struct {
	merchants Merchants
	first     time.Duration
}

var _ provider.EventEncoder = (*Encoder)(nil)

// NewEncoder returns an encoder for the merchants' webhooks whose first
// attempt waits the schedule's first delay.
func NewEncoder(ms Merchants, schedule []time.Duration) *Encoder {
	e := &Encoder{merchants: ms}
	if len(schedule) > 0 {
		e.first = schedule[0]
	}
	return e
}

// Encode implements provider.EventEncoder. The body is fixed here, once:
// every retry sends these bytes.
func (e *Encoder) Encode(ev provider.Event) (provider.Outgoing, bool, error) {
	_, key, ok := e.merchants.Webhook(ev.Merchant)
	if !ok {
		return provider.Outgoing{}, false, nil
	}
	salt, err := hashing.NewSalt()
	if err != nil {
		return provider.Outgoing{}, false, err
	}
	b := Body{
		EventID:        ev.ID,
		EventType:      EventType,
		EventTimestamp: provider.FormatTime(ev.At),
		OrderID:        ev.OrderID,
		SessionID:      ev.SessionID,
		TransactionID:  ev.TransactionID,
		Status:         string(ev.State.Status),
		SubStatus:      string(ev.State.SubStatus),
		Amount:         ev.Amount,
		Currency:       ev.Currency,
		Installment:    ev.Installment,
		Salt:           salt,
	}
	b.Hash = hashing.SignWebhook(key, b.Fields())
	body, err := json.Marshal(b)
	if err != nil {
		return provider.Outgoing{}, false, err
	}
	return provider.Outgoing{ID: ev.ID, Body: body, Delay: e.first}, true, nil
}
