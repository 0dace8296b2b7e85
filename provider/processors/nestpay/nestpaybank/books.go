package nestpaybank

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/redis/go-redis/v9"
)

// Books reads the fake bank's books from its Redis, for the ledger audit.
type Books struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ provider.Books = (*Books)(nil)

// NewBooks reads the books under prefix.
func NewBooks(rdb redis.UniversalClient, prefix string) *Books {
	return &Books{rdb: rdb, prefix: prefix}
}

// Account implements provider.Books; the payment reference is the order id.
func (b *Books) Account(ctx context.Context, oid string) (provider.Account, error) {
	bank := &Bank{cfg: Config{Prefix: b.prefix}, rdb: b.rdb}
	return bank.Account(ctx, oid)
}

// Account is the order's books in the domain's words.
func (b *Bank) Account(ctx context.Context, oid string) (provider.Account, error) {
	o, err := b.load(ctx, oid)
	if errors.Is(err, errNoOrder) {
		return provider.Account{}, nil
	}
	if err != nil {
		return provider.Account{}, fmt.Errorf("nestpaybank: account: %w", err)
	}
	state := map[string]string{"3D": "challenge", "authorised": "authorised", "voided": "voided",
		"declined": "declined", "closed": "declined"}[o.State]
	a := provider.Account{State: state, Type: string(provider.Auth), Currency: o.Currency,
		Captured: provider.Money(o.Captured), Refunded: provider.Money(o.Refunded), Voided: provider.Money(o.Voided)}
	if o.State == "authorised" || o.State == "voided" {
		a.Authorised = provider.Money(o.Amount)
	}
	lines, err := b.rdb.LRange(ctx, b.ledgerKey(oid), 0, -1).Result()
	if err != nil {
		return provider.Account{}, fmt.Errorf("nestpaybank: ledger: %w", err)
	}
	for _, l := range lines {
		var e ledger
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			return provider.Account{}, fmt.Errorf("nestpaybank: ledger line: %w", err)
		}
		a.Entries = append(a.Entries, provider.BookEntry{Op: e.Op, Reference: e.Ref, Outcome: e.Outcome,
			Amount: provider.Money(e.Amount), At: time.UnixMilli(e.At)})
	}
	return a, nil
}
