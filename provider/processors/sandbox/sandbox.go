// Package sandbox is a deterministic stand-in for a bank: the contract's
// test cards decide every outcome, so a payment company can show the whole
// Akinon flow, and tests can drive every branch, without a real acquirer.
//
// Like a bank, it keeps its books outside the gateway's process: every
// reference it acted on, its answer, and each payment's account live in
// Redis under the sandbox's own key prefix, so replicas share one bank, a
// restart forgets nothing, an inquiry by reference answers from the
// books, and the books expire after a retention instead of growing
// without bound.
package sandbox

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
)

// Name is the name the sandbox is registered under (targetProvider).
const Name = "sandbox"

// Test cards of the contract.
const (
	CardApproved     = "4242424242424242"
	CardInstallments = "5528790000000008"
	CardThreeDS      = "4000002760003184"
	CardFrictionless = "4000000000003220"
	CardNotEnrolled  = "4000000000003055"
	CardDeclined     = "4000000000000002"
	CardInsufficient = "4000000000009995"
	CardFraud        = "4100000000000019"
	CardPendingOK    = "4000000000009235"
	CardPendingRisky = "4000000000004954"
	CardTransient    = "4000000000000119"
	CardCaptureFails = "4000000000000341"
	CardRefundFails  = "4000000000005126"
)

// ThreeDSCode is the one code that passes the sandbox's 3-D Secure step.
const ThreeDSCode = "123456"

// installmentBINs are the BINs the sandbox lets pay in installments.
var installmentBINs = map[string]bool{"552879": true}

// transientFailures is how many times CardTransient fails before it passes.
const transientFailures = 2

//go:embed bank.lua
var bankLua string

var (
	actScript     = redis.NewScript(bankLua + "\nreturn act()")
	inquireScript = redis.NewScript(bankLua + "\nreturn inquire()")
	resolveScript = redis.NewScript(bankLua + "\nreturn resolve()")
)

// Options tune the sandbox.
type Options struct {
	Prefix       string        // key prefix of the bank's books; "sbx" when empty
	PendingDelay time.Duration // when a PENDING card's verdict is known
	Retention    time.Duration // how long the bank keeps a reference; provider.DefaultRetention (as long as the gateway keeps an order) when zero
	// Latency delays every answer after the bank has acted, as a slow
	// network does: a caller that gives up meanwhile does not know what
	// happened, and must ask (Inquire). For fault tests and demos.
	Latency time.Duration
	Now     func() time.Time // the bank's clock, for PENDING verdicts
	// ACSURL is the public base URL of the bank's 3-D Secure page (the
	// handler ACS serves); empty, a 3-D Secure card's challenge has no
	// page to be answered on, for tests of the card stage and books alone.
	ACSURL string
	// ACSKey signs what the ACS sends through the browser; empty, a key
	// kept in the books is used, shared by every replica.
	ACSKey []byte
}

// Processor is the sandbox bank.
type Processor struct {
	rdb  redis.UniversalClient
	opts Options

	mu    sync.Mutex
	calls map[string]int // method → calls this process received
}

var _ provider.Processor = (*Processor)(nil)

// New returns a sandbox keeping its books in rdb.
func New(rdb redis.UniversalClient, o Options) *Processor {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Prefix == "" {
		o.Prefix = "sbx"
	}
	if o.Retention <= 0 {
		o.Retention = provider.DefaultRetention
	}
	return &Processor{rdb: rdb, opts: o, calls: map[string]int{}}
}

// Calls reports how many times this process's sandbox received a method
// ("Authorise", "Capture", …), transient failures and repeats included.
func (p *Processor) Calls(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[method]
}

// Effects reports how many distinct operations of a method the bank
// acted on (approved or held), whoever sent them: repeated references
// are not counted again, which is what a test of "no double charge" asks.
func (p *Processor) Effects(method string) int {
	n, _ := p.rdb.HGet(context.Background(), p.opts.Prefix+":effects", method).Int()
	return n
}

// Installments implements provider.Processor.
func (p *Processor) Installments(bin string) bool { return installmentBINs[bin] }

// Authorise implements provider.Processor.
func (p *Processor) Authorise(ctx context.Context, req provider.AuthoriseRequest) (provider.Result, error) {
	d := digest(req.Reference)
	res, failures := p.cardAnswer(req, d)
	res, err := p.act(ctx, "Authorise", entry{op: provider.OpAuthorise, ref: req.Reference, tag: d, res: res,
		amount: req.Amount, currency: req.Currency, typ: string(req.Type), failures: failures})
	if err != nil || res.Outcome != provider.Challenge || p.opts.ACSURL == "" {
		return res, err
	}
	// The form to the ACS is never in the books: a repeated reference
	// gets it built again from the request.
	flow := flowChallenge
	if req.Card.Number == CardFrictionless {
		flow = flowFrictionless
	}
	if res.Redirect, err = p.redirect(ctx, req, flow); err != nil {
		return provider.Result{}, fmt.Errorf("%w: %w", provider.ErrTransient, err)
	}
	return res, nil
}

// cardAnswer is what the bank answers an authorisation of the card, d
// being the digest of its reference, and how many transient failures
// come before the answer.
func (p *Processor) cardAnswer(req provider.AuthoriseRequest, d string) (res provider.Result, failures int) {
	id := func(flags string) string { return "sbx-" + flags + "-" + d }
	res = approved(id(""))
	switch req.Card.Number {
	case CardDeclined:
		res = declined("05", "do not honour")
	case CardInsufficient:
		res = declined("51", "insufficient funds")
	case CardFraud:
		res = provider.Result{Outcome: provider.Fraud, Code: "59", Detail: "suspected fraud"}
	case CardThreeDS, CardFrictionless:
		res = provider.Result{Outcome: provider.Challenge, Code: "3DS", Detail: "3-D Secure required"}
	case CardNotEnrolled:
		res = approved(id(""))
		res.Detail = "approved; card not enrolled in 3-D Secure"
	case CardPendingOK, CardPendingRisky:
		at := p.opts.Now().Add(p.opts.PendingDelay)
		flag := "pa"
		if req.Card.Number == CardPendingRisky {
			flag = "pr"
		}
		res = provider.Result{Outcome: provider.Pending, Code: "PENDING", Detail: "waiting for the issuer",
			ProcessorID: id(flag + strconv.FormatInt(at.UnixMilli(), 10)), ResolveAt: at}
	case CardTransient:
		failures = transientFailures
	case CardCaptureFails:
		res = approved(id("c"))
	case CardRefundFails:
		res = approved(id("r"))
	}
	return res, failures
}

// Capture implements provider.Processor.
func (p *Processor) Capture(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	res := approved(req.ProcessorID)
	if flags(req.ProcessorID) == "c" {
		res = declined("CAPTURE_FAILED", "capture refused by the issuer")
	}
	return p.act(ctx, "Capture", operation(provider.OpCapture, req, res))
}

// Void implements provider.Processor.
func (p *Processor) Void(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.act(ctx, "Void", operation(provider.OpVoid, req, approved(req.ProcessorID)))
}

// Refund implements provider.Processor.
func (p *Processor) Refund(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	res := approved(req.ProcessorID)
	if flags(req.ProcessorID) == "r" {
		res = declined("REFUND_FAILED", "refund refused by the issuer")
	}
	return p.act(ctx, "Refund", operation(provider.OpRefund, req, res))
}

func operation(op provider.Operation, req provider.OperationRequest, res provider.Result) entry {
	return entry{op: op, ref: req.Reference, tag: paymentTag(req.ProcessorID, req.Reference), res: res,
		amount: req.Amount, currency: req.Currency}
}

// Status implements provider.Processor: a pending payment's verdict is in
// its processor id, so any replica can ask; once known, the payment's
// account takes it.
func (p *Processor) Status(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	p.count("Status")
	f := flags(req.ProcessorID)
	if len(f) < 3 || (f[:2] != "pa" && f[:2] != "pr") {
		return approved(req.ProcessorID), nil
	}
	ms, err := strconv.ParseInt(f[2:], 10, 64)
	if err != nil {
		return provider.Result{}, fmt.Errorf("sandbox: malformed processor id")
	}
	at := time.UnixMilli(ms)
	if p.opts.Now().Before(at) {
		return provider.Result{Outcome: provider.Pending, Code: "PENDING", Detail: "waiting for the issuer",
			ProcessorID: req.ProcessorID, ResolveAt: at}, nil
	}
	res, state := approved(req.ProcessorID), "authorised"
	if f[:2] == "pr" {
		res = provider.Result{Outcome: provider.Fraud, Code: "59", Detail: "issuer flagged the payment as fraud",
			ProcessorID: req.ProcessorID}
		state = "rejected"
	}
	tag := p.tag(paymentTag(req.ProcessorID, req.Reference))
	if err := resolveScript.Run(ctx, p.rdb, []string{tag + ":p"}, state).Err(); err != nil {
		return provider.Result{}, booksError(err)
	}
	return res, nil
}

// Inquire implements provider.Processor: the bank's record of a
// reference, or "not received", after which the reference is closed.
func (p *Processor) Inquire(ctx context.Context, req provider.InquiryRequest) (provider.Inquiry, error) {
	p.count("Inquire")
	d := digest(req.Reference)
	if req.Operation != provider.OpAuthorise && req.Operation != provider.OpAuthenticate {
		d = paymentTag(req.ProcessorID, req.Reference)
	}
	tag := p.tag(d)
	v, err := inquireScript.Run(ctx, p.rdb, []string{recordKey(tag, req.Operation, req.Reference), tag + ":l"},
		string(req.Operation), req.Reference, p.opts.Now().UnixMilli(), p.opts.Retention.Milliseconds()).Slice()
	if err != nil {
		return provider.Inquiry{}, fmt.Errorf("sandbox: inquiry: %w", err)
	}
	r := decodeRecord(v)
	if r.outcome == notReceived {
		return provider.Inquiry{}, nil
	}
	return provider.Inquiry{Received: true, Result: r.result(), Amount: r.amount}, nil
}

// entry is one call as the bank's books take it.
type entry struct {
	op       provider.Operation
	ref      string
	tag      string // the payment's digest
	res      provider.Result
	amount   provider.Money
	currency string
	typ      string
	failures int // transient failures before the bank answers this reference
}

// act runs one call against the books: a reference seen before gets its
// first answer; a new one is acted on within what the payment holds.
func (p *Processor) act(ctx context.Context, method string, e entry) (provider.Result, error) {
	p.count(method)
	tag := p.tag(e.tag)
	keys := []string{recordKey(tag, e.op, e.ref), tag + ":p", tag + ":l", tag + ":t:" + e.ref}
	v, err := actScript.Run(ctx, p.rdb, keys, string(e.op), e.ref, string(e.res.Outcome), e.res.Code, e.res.Detail,
		e.res.ProcessorID, e.res.ChallengeID, msOrZero(e.res.ResolveAt), int64(e.amount), e.currency, e.typ,
		p.opts.Now().UnixMilli(), p.opts.Retention.Milliseconds(), e.failures).Slice()
	if err != nil {
		return provider.Result{}, booksError(err)
	}
	kind, _ := v[0].(string)
	if kind == "transient" {
		return provider.Result{}, fmt.Errorf("%w: issuer unavailable (91)", provider.ErrTransient)
	}
	r := decodeRecord(v[1])
	if kind == "new" && (r.outcome == string(provider.Approved) || r.outcome == string(provider.Pending)) {
		pipe := p.rdb.Pipeline()
		pipe.HIncrBy(ctx, p.opts.Prefix+":effects", method, 1)
		pipe.PExpire(ctx, p.opts.Prefix+":effects", p.opts.Retention)
		_, _ = pipe.Exec(ctx) // a statistic for tests; the books are the record
	}
	if p.opts.Latency > 0 {
		// The bank has acted; its answer is slow to come back.
		select {
		case <-time.After(p.opts.Latency):
		case <-ctx.Done():
			return provider.Result{}, fmt.Errorf("sandbox: no answer: %w", ctx.Err())
		}
	}
	return r.result(), nil
}

func (p *Processor) count(method string) {
	p.mu.Lock()
	p.calls[method]++
	p.mu.Unlock()
}

func (p *Processor) tag(digest string) string { return p.opts.Prefix + ":{" + digest + "}" }

func recordKey(tag string, op provider.Operation, ref string) string {
	return tag + ":r:" + string(op) + ":" + ref
}

// notReceived is the outcome of a tombstone: an inquiry found nothing and
// closed the reference.
const notReceived = "NOT_RECEIVED"

// record is the bank's record of one reference.
type record struct {
	outcome, code, detail, processorID, challengeID string
	resolveAt                                       time.Time
	amount                                          provider.Money
}

func decodeRecord(v any) record {
	flat, _ := v.([]any)
	h := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		k, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		h[k] = val
	}
	amount, _ := strconv.ParseInt(h["amount"], 10, 64)
	resolve, _ := strconv.ParseInt(h["resolveAt"], 10, 64)
	r := record{outcome: h["outcome"], code: h["code"], detail: h["detail"],
		processorID: h["processorId"], challengeID: h["challengeId"], amount: provider.Money(amount)}
	if resolve > 0 {
		r.resolveAt = time.UnixMilli(resolve)
	}
	return r
}

func (r record) result() provider.Result {
	out := provider.Result{Outcome: provider.Outcome(r.outcome), Code: r.code, Detail: r.detail,
		ProcessorID: r.processorID, ChallengeID: r.challengeID, ResolveAt: r.resolveAt}
	if r.outcome == notReceived {
		out.Outcome = provider.Declined
	}
	return out
}

// Account and Entry are the bank's books as the domain reads them.
type (
	Account = provider.Account
	Entry   = provider.BookEntry
)

var _ provider.Books = (*Processor)(nil)

// Account reads a payment's books by its payment reference (the one its
// authorisation carried).
func (p *Processor) Account(ctx context.Context, payReference string) (Account, error) {
	tag := p.tag(digest(payReference))
	pipe := p.rdb.Pipeline()
	h := pipe.HGetAll(ctx, tag+":p")
	l := pipe.LRange(ctx, tag+":l", 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return Account{}, fmt.Errorf("sandbox: account: %w", err)
	}
	v := h.Val()
	a := Account{State: v["state"], Type: v["type"], Currency: v["currency"]}
	for field, dst := range map[string]*provider.Money{"authorised": &a.Authorised, "captured": &a.Captured,
		"refunded": &a.Refunded, "voided": &a.Voided} {
		n, _ := strconv.ParseInt(v[field], 10, 64)
		*dst = provider.Money(n)
	}
	for _, line := range l.Val() {
		var e struct { // bank.lua's ledger line; amounts in minor units
			Op      provider.Operation `json:"op"`
			Ref     string             `json:"ref"`
			Outcome string             `json:"outcome"`
			Amount  int64              `json:"amount"`
			At      int64              `json:"at"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return Account{}, fmt.Errorf("sandbox: ledger line: %w", err)
		}
		a.Entries = append(a.Entries, Entry{Op: e.Op, Reference: e.Ref, Outcome: e.Outcome,
			Amount: provider.Money(e.Amount), At: time.UnixMilli(e.At)})
	}
	return a, nil
}

func approved(id string) provider.Result {
	return provider.Result{Outcome: provider.Approved, Code: "00", Detail: "approved", ProcessorID: id}
}

func declined(code, detail string) provider.Result {
	return provider.Result{Outcome: provider.Declined, Code: code, Detail: detail}
}

// processorID is "sbx-<flags>-<digest>"; flags say what the bank will do
// later with this payment.
func processorID(flags, ref string) string { return "sbx-" + flags + "-" + digest(ref) }

func flags(processorID string) string {
	parts := strings.SplitN(processorID, "-", 3)
	if len(parts) != 3 || parts[0] != "sbx" {
		return ""
	}
	return parts[1]
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// booksError says what a failed call to the books means for the caller.
// Only a request that never left (no connection, none free) certainly
// did nothing: that is ErrTransient, retried with the same reference.
// Any other failure may come after the books acted (the reply was lost),
// so it is no answer: the caller must ask (Inquire).
func booksError(err error) error {
	var op *net.OpError
	if (errors.As(err, &op) && op.Op == "dial") || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("%w: sandbox books unreachable: %v", provider.ErrTransient, err)
	}
	return fmt.Errorf("sandbox: no answer from the books: %w", err)
}

// paymentTag is the digest a processor id carries, which names the
// payment's books; a reference stands in for an id that is not ours.
func paymentTag(processorID, ref string) string {
	parts := strings.SplitN(processorID, "-", 3)
	if len(parts) == 3 && parts[0] == "sbx" && parts[2] != "" {
		return parts[2]
	}
	return digest(ref)
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

var _ provider.Completer = (*Processor)(nil)
