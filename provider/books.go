package provider

import (
	"context"
	"time"
)

// Books is a processor's own record of the payments it holds, read by
// payment reference (PaymentReference): what the ledger audit
// (provider/audit) holds the gateway's orders against. A processor that
// can read its books, the sandbox's ledger or a bank's settlement file,
// offers it.
type Books interface {
	Account(ctx context.Context, payReference string) (Account, error)
}

// Account is a payment as the processor's books hold it.
type Account struct {
	State      string // authorised, pending, challenge, declined, rejected, voided; "" when unknown
	Type       string
	Currency   string
	Authorised Money
	Captured   Money
	Refunded   Money
	Voided     Money
	Entries    []BookEntry
}

// BookEntry is one reference the processor acted on for a payment, or
// closed by an inquiry.
type BookEntry struct {
	Op        Operation
	Reference string
	Outcome   string
	Amount    Money
	At        time.Time
}
