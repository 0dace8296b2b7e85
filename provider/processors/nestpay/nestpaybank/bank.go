// Package nestpaybank is a fake NestPay bank for tests and local runs: the
// 3D gate, an ACS challenge page, the return POST with the ver3 hash, and
// the XML API (provision, PostAuth, Void, Credit, order-status query), with
// its books in Redis under its own prefix and fault switches. cmd/nestpaybank
// serves it; Books reads it for the ledger audit.
package nestpaybank

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/redis/go-redis/v9"
)

// Test cards, after the sandbox's (any future expiry, any cv2).
const (
	CardFrictionless = "4000000000003220" // authenticated without a challenge (mdStatus 1)
	CardChallenge    = "4000002760003184" // ACS asks for a code; ChallengeCode passes, any other fails (mdStatus 0)
	CardNotEnrolled  = "4000000000003055" // not enrolled: an attempt (mdStatus 2), provision approved
	CardDeclined     = "4000000000000002" // authenticated, provision declined 05
	CardInsufficient = "4000000000009995" // authenticated, provision declined 51
	CardApproved     = "4242424242424242" // authenticated without a challenge; any other Luhn number too
	ChallengeCode    = "123456"
)

// Config is one store at the fake bank.
type Config struct {
	ClientID    string
	StoreKey    string
	APIUser     string
	APIPassword string
	Prefix      string // Redis key prefix of the books
}

// Faults are the switches a test turns on through POST /_faults.
type Faults struct {
	Slow            time.Duration `json:"slow"`            // wait before every API answer
	DropAfterActing bool          `json:"dropAfterActing"` // act, then close the connection unanswered
	DuplicateReturn bool          `json:"duplicateReturn"` // post every return twice to okUrl/failUrl
}

// Bank is the fake bank's HTTP side.
type Bank struct {
	cfg   Config
	rdb   redis.UniversalClient
	mu    sync.Mutex // one order at a time: the bank is a single process
	fmu   sync.Mutex
	fault Faults
	now   func() time.Time
}

// New returns the bank for one store.
func New(cfg Config, rdb redis.UniversalClient) *Bank {
	return &Bank{cfg: cfg, rdb: rdb, now: time.Now}
}

// Handler serves the gate, the ACS, the API and the fault switches.
func (b *Bank) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /fim/est3Dgate", b.gate)
	mux.HandleFunc("POST /acs", b.acs)
	mux.HandleFunc("POST /fim/api", b.api)
	mux.HandleFunc("POST /_faults", b.setFaults)
	mux.HandleFunc("GET /_healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return mux
}

func (b *Bank) faults() Faults {
	b.fmu.Lock()
	defer b.fmu.Unlock()
	return b.fault
}

func (b *Bank) setFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
		http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
		return
	}
	b.fmu.Lock()
	b.fault = f
	b.fmu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// order is the bank's record of one order (oid): no card data, only what
// the books and the provision need.
type order struct {
	State      string `json:"state"` // 3D, authorised, declined, voided, closed
	Currency   string `json:"currency"`
	Amount     int64  `json:"amount"`
	Captured   int64  `json:"captured"`
	Refunded   int64  `json:"refunded"`
	Voided     int64  `json:"voided"`
	Taksit     string `json:"taksit"`
	MD         string `json:"md"`
	MDStatus   string `json:"mdStatus"`
	Answer     string `json:"answer"` // the provision's ProcReturnCode, from the test card
	OkURL      string `json:"okUrl"`
	FailURL    string `json:"failUrl"`
	Masked     string `json:"masked"` // BIN and last four
	Rnd        string `json:"rnd"`
	Lang       string `json:"lang"`
	TranType   string `json:"tranType"`
	ReturnSent int    `json:"returnSent"`
}

// ledger is one line of an order's books.
type ledger struct {
	Op      provider.Operation `json:"op"`
	Ref     string             `json:"ref"`
	Outcome string             `json:"outcome"`
	Amount  int64              `json:"amount"`
	At      int64              `json:"at"`
}

var errNoOrder = errors.New("no such order")

func (b *Bank) orderKey(oid string) string  { return b.cfg.Prefix + ":o:" + oid }
func (b *Bank) ledgerKey(oid string) string { return b.cfg.Prefix + ":l:" + oid }
func (b *Bank) mdKey(md string) string      { return b.cfg.Prefix + ":md:" + md }
func (b *Bank) opKey(oid string, op provider.Operation, ref string) string {
	return b.cfg.Prefix + ":op:" + oid + ":" + string(op) + ":" + ref
}

func (b *Bank) load(ctx context.Context, oid string) (order, error) {
	raw, err := b.rdb.Get(ctx, b.orderKey(oid)).Bytes()
	if errors.Is(err, redis.Nil) {
		return order{}, errNoOrder
	}
	if err != nil {
		return order{}, err
	}
	var o order
	return o, json.Unmarshal(raw, &o)
}

// save writes the order and, when given, its ledger line and the answer
// kept for a repeated operation, in one transaction.
func (b *Bank) save(ctx context.Context, oid string, o order, line *ledger, opKey, answer string) error {
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	_, err = b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, b.orderKey(oid), raw, 0)
		if line != nil {
			line.At = b.now().UnixMilli()
			l, _ := json.Marshal(line)
			p.RPush(ctx, b.ledgerKey(oid), l)
		}
		if opKey != "" {
			p.Set(ctx, opKey, answer, 0)
		}
		return nil
	})
	return err
}

func minor(s string) (int64, error) {
	m, err := provider.ParseMoney(s)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	return int64(m), nil
}

func amountText(n int64) string { return provider.Money(n).String() }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
