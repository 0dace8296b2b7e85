package commerce

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/akinon-gateway/gateway/hashing"
)

// EventPaymentStatusChanged is the one event type of the contract.
const EventPaymentStatusChanged = "PAYMENT_STATUS_CHANGED"

// webhookBody is the gateway's webhook as Akinon reads it. It is declared
// here again on purpose, from the contract: a client that borrowed the
// gateway's own type would agree with the gateway's mistakes. Amount is
// kept as the literal of the body, because the hash covers the value as
// written.
type webhookBody struct {
	EventID        string          `json:"eventId"`
	EventType      string          `json:"eventType"`
	EventTimestamp string          `json:"eventTimestamp"`
	OrderID        string          `json:"orderId"`
	SessionID      string          `json:"sessionId"`
	TransactionID  string          `json:"transactionId"`
	Status         string          `json:"status"`
	SubStatus      string          `json:"subStatus"`
	Amount         json.RawMessage `json:"amount"`
	Currency       string          `json:"currency"`
	Installment    json.RawMessage `json:"installment"`
	Salt           string          `json:"salt"`
	Hash           string          `json:"hash"`
}

// webhookAnswer is what the endpoint answers; the gateway reads only the
// status code (2xx: delivered).
type webhookAnswer struct {
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
}

// receiveWebhook is /orders/hooks/payment. It checks the Standard
// Webhooks signature over the exact bytes, then the contract's body hash,
// then takes each eventId once. A refused request is a 4xx (401 for a bad
// signature), so the gateway's retries show in its dead letters rather
// than as a silently accepted forgery.
func (s *Shop) receiveWebhook(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *WebhookStats) { st.Received++ })
	ev, status, detail := s.verifiedWebhook(w, r)
	if status != 0 {
		s.count(func(st *WebhookStats) { st.Refused++ })
		s.cfg.Logf("webhook refused (%d): %s", status, detail)
		writeJSON(w, status, webhookAnswer{Result: "refused", Detail: detail})
		return
	}

	// At least once on the wire, once here: the first delivery of an
	// eventId is applied, the others are acknowledged and dropped.
	s.mu.Lock()
	dup := s.events[ev.EventID]
	s.events[ev.EventID] = true
	s.mu.Unlock()
	if dup {
		s.count(func(st *WebhookStats) { st.Duplicates++ })
		writeJSON(w, http.StatusOK, webhookAnswer{Result: "duplicate"})
		return
	}
	if ev.EventType != EventPaymentStatusChanged {
		s.count(func(st *WebhookStats) { st.Applied++ })
		writeJSON(w, http.StatusOK, webhookAnswer{Result: "ignored", Detail: "event type " + ev.EventType})
		return
	}
	o := s.Order(ev.OrderID)
	if o == nil {
		// Not ours (another run on the same gateway): acknowledged, so
		// the gateway does not retry it for a day.
		s.count(func(st *WebhookStats) { st.Unmatched++ })
		writeJSON(w, http.StatusOK, webhookAnswer{Result: "unknown order"})
		return
	}
	s.count(func(st *WebhookStats) { st.Applied++ })
	s.applyWebhook(r, o, ev)
	writeJSON(w, http.StatusOK, webhookAnswer{Result: "applied"})
}

// verifiedWebhook reads a webhook whose signature and body hash verify;
// a refusal is its status (not 0) and why.
func (s *Shop) verifiedWebhook(w http.ResponseWriter, r *http.Request) (webhookBody, int, string) {
	var ev webhookBody
	if s.cfg.WebhookHashKey == "" {
		return ev, http.StatusServiceUnavailable, "this shop has no WEBHOOK_HASH_KEY"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return ev, http.StatusRequestEntityTooLarge, "body unreadable or larger than 64 KiB"
	}
	key := []byte(s.cfg.WebhookHashKey)
	if err := hashing.VerifyStandard(key, r.Header.Get(hashing.HeaderWebhookID), r.Header.Get(hashing.HeaderWebhookTimestamp),
		r.Header.Get(hashing.HeaderWebhookSignature), body, s.cfg.Now(), hashing.DefaultTolerance); err != nil {
		return ev, http.StatusUnauthorized, "Standard Webhooks signature: " + err.Error()
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, http.StatusBadRequest, "body is not the contract's JSON: " + err.Error()
	}
	if err := ev.check(); err != nil {
		return ev, http.StatusBadRequest, err.Error()
	}
	fields := hashing.WebhookFields{Salt: ev.Salt, EventID: ev.EventID, EventTimestamp: ev.EventTimestamp,
		OrderID: ev.OrderID, TransactionID: ev.TransactionID, Amount: string(ev.Amount),
		Status: ev.Status, SubStatus: ev.SubStatus}
	if !hashing.VerifyWebhook(s.cfg.WebhookHashKey, ev.Hash, fields) {
		return ev, http.StatusUnauthorized, "bad hash: the body hash does not verify with this shop's WEBHOOK_HASH_KEY"
	}
	return ev, 0, ""
}

// check refuses a body that lacks what the contract promises.
func (ev *webhookBody) check() error {
	switch {
	case ev.EventID == "" || ev.EventType == "" || ev.EventTimestamp == "" || ev.OrderID == "" ||
		ev.Status == "" || ev.SubStatus == "" || ev.Salt == "" || ev.Hash == "":
		return errors.New("a field of the contract is missing (eventId, eventType, eventTimestamp, orderId, status, subStatus, salt, hash)")
	case len(ev.Amount) == 0 || ev.Amount[0] == '"':
		return errors.New("amount must be a JSON number")
	case !validPair(ev.Status, ev.SubStatus):
		return errors.New(ev.Status + "/" + ev.SubStatus + " is not a status pair of the contract")
	}
	if _, err := ParseAmount(string(ev.Amount)); err != nil {
		return err
	}
	return nil
}

// applyWebhook moves the order on a verified event of its current
// session: RESOLVED pays it (and purchases, as the return would),
// REJECTED fails it unless it is paid. Events of an older session are
// only kept. The event is recorded on the order once its effects are in
// place, so whoever waits for it sees them.
func (s *Shop) applyWebhook(r *http.Request, o *Order, ev webhookBody) {
	o.payLock.Lock()
	defer o.payLock.Unlock()
	s.cfg.Logf("order %s: webhook %s %s/%s", o.Number, ev.EventID, ev.Status, ev.SubStatus)
	if ev.SessionID == "" || ev.SessionID == o.View().SessionID {
		switch ev.Status {
		case StatusResolved:
			amount, _ := ParseAmount(string(ev.Amount))
			var installment int
			_ = json.Unmarshal(ev.Installment, &installment)
			s.paid(r.Context(), o, amount, installment)
		case StatusRejected:
			s.rejected(o, ev.Status, ev.SubStatus)
		}
	}
	o.update(func(v *OrderView) {
		v.Webhooks = append(v.Webhooks, Webhook{EventID: ev.EventID, EventTimestamp: ev.EventTimestamp,
			Status: ev.Status, SubStatus: ev.SubStatus, Amount: string(ev.Amount), TransactionID: ev.TransactionID, At: s.cfg.Now()})
	})
}

func (s *Shop) count(f func(*WebhookStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
	close(s.statsChanged)
	s.statsChanged = make(chan struct{})
}

// WaitWebhooks blocks until cond holds for the webhook counters or ctx
// ends, and returns the last counters either way.
func (s *Shop) WaitWebhooks(ctx context.Context, cond func(WebhookStats) bool) (WebhookStats, error) {
	for {
		s.mu.Lock()
		st, ch := s.stats, s.statsChanged
		s.mu.Unlock()
		if cond(st) {
			return st, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}
