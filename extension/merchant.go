package extension

import (
	"crypto/subtle"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
)

// Merchant is a shop as the HTTP side knows it: the payment rules plus
// the credentials Akinon uses and the keys the gateway signs with.
type Merchant struct {
	provider.Merchant
	Username       string
	Password       string
	HashKey        string
	HashScheme     hashing.Scheme
	WebhookURL     string
	WebhookHashKey string
	Processor      string   // the name of the bank it pays through unless targetProvider names another
	Processors     []string // every processor it may pay through, Processor first
}

// Merchants finds a merchant by credentials or by id.
type Merchants struct {
	list []*Merchant
	byID map[string]*Merchant
}

// NewMerchants indexes a list; ids and usernames must be unique.
func NewMerchants(list []*Merchant) (*Merchants, error) {
	ms := &Merchants{list: list, byID: make(map[string]*Merchant, len(list))}
	users := map[string]bool{}
	for _, m := range list {
		if ms.byID[m.ID] != nil {
			return nil, fmt.Errorf("merchant %q is listed twice", m.ID)
		}
		if users[m.Username] {
			return nil, fmt.Errorf("merchant %q: username already used by another merchant", m.ID)
		}
		ms.byID[m.ID], users[m.Username] = m, true
	}
	return ms, nil
}

// ByID returns a merchant or nil.
func (ms *Merchants) ByID(id string) *Merchant { return ms.byID[id] }

// Webhook returns where a merchant's webhooks go and the key they are
// signed with; ok is false for an unknown merchant or one without a URL.
func (ms *Merchants) Webhook(id string) (url, key string, ok bool) {
	m := ms.byID[id]
	if m == nil || m.WebhookURL == "" {
		return "", "", false
	}
	return m.WebhookURL, m.WebhookHashKey, true
}

// All returns every merchant.
func (ms *Merchants) All() []*Merchant { return ms.list }

// Authenticate finds the merchant whose credentials match. Every merchant
// is compared, in constant time, so neither a wrong username nor a wrong
// password answers faster.
func (ms *Merchants) Authenticate(user, pass string) *Merchant {
	var found *Merchant
	for _, m := range ms.list {
		u := subtle.ConstantTimeCompare([]byte(user), []byte(m.Username))
		p := subtle.ConstantTimeCompare([]byte(pass), []byte(m.Password))
		if u&p == 1 {
			found = m
		}
	}
	return found
}

const (
	ctxMerchant = "merchant"
	ctxNoisy    = "noisy-logger"
	ctxGUID     = "guid"
	ctxOrder    = "orderId"
	ctxLogger   = "logger"
)

func merchantOf(c echo.Context) *Merchant {
	m, _ := c.Get(ctxMerchant).(*Merchant)
	return m
}
