// Package sandbox is a deterministic stand-in for a bank: the contract's
// test cards decide every outcome, so a payment company can show the whole
// Akinon flow, and tests can drive every branch, without a real acquirer.
//
// Whatever the sandbox must remember between calls (a capture that will
// fail, a pending payment's verdict and time) is encoded in the processor
// id it hands out, so several gateway replicas and restarts see the same
// bank. Only the per-reference memory that makes repeated references
// idempotent, and the transient-failure counter, live in the process.
package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// Name is the name the sandbox is registered under (targetProvider).
const Name = "sandbox"

// Test cards of the contract.
const (
	CardApproved     = "4242424242424242"
	CardInstallments = "5528790000000008"
	CardThreeDS      = "4000002760003184"
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

// Processor is the sandbox bank.
type Processor struct {
	pendingDelay time.Duration
	now          func() time.Time

	mu       sync.Mutex
	seen     map[string]provider.Result // reference → result, for idempotency
	attempts map[string]int             // reference → transient attempts so far
	calls    map[string]int             // method → calls
	effects  map[string]int             // method → operations that moved money
}

var _ provider.Processor = (*Processor)(nil)

// New returns a sandbox whose PENDING cards resolve after pendingDelay.
func New(pendingDelay time.Duration, now func() time.Time) *Processor {
	if now == nil {
		now = time.Now
	}
	return &Processor{
		pendingDelay: pendingDelay,
		now:          now,
		seen:         map[string]provider.Result{},
		attempts:     map[string]int{},
		calls:        map[string]int{},
		effects:      map[string]int{},
	}
}

// Calls reports how many times a method ("Authorise", "Capture", …) was
// called, transient failures included.
func (p *Processor) Calls(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[method]
}

// Effects reports how many distinct operations of a method moved money:
// repeated references are not counted again, which is what a test of "no
// double charge" asks.
func (p *Processor) Effects(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.effects[method]
}

// Installments implements provider.Processor.
func (p *Processor) Installments(bin string) bool { return installmentBINs[bin] }

// Authorise implements provider.Processor.
func (p *Processor) Authorise(_ context.Context, req provider.AuthoriseRequest) (provider.Result, error) {
	return p.once("Authorise", req.Reference, func() (provider.Result, error) {
		id := func(flags string) string { return processorID(flags, req.Reference) }
		switch req.Card.Number {
		case CardDeclined:
			return declined("05", "do not honour"), nil
		case CardInsufficient:
			return declined("51", "insufficient funds"), nil
		case CardFraud:
			return provider.Result{Outcome: provider.Fraud, Code: "59", Detail: "suspected fraud"}, nil
		case CardThreeDS:
			return provider.Result{Outcome: provider.Challenge, Code: "3DS", Detail: "3-D Secure required",
				ChallengeID: "sbx3ds-" + digest(req.Reference)}, nil
		case CardPendingOK, CardPendingRisky:
			at := p.now().Add(p.pendingDelay)
			flag := "pa"
			if req.Card.Number == CardPendingRisky {
				flag = "pr"
			}
			return provider.Result{Outcome: provider.Pending, Code: "PENDING", Detail: "waiting for the issuer",
				ProcessorID: id(flag + strconv.FormatInt(at.UnixMilli(), 10)), ResolveAt: at}, nil
		case CardTransient:
			if p.attempts[req.Reference] < transientFailures {
				p.attempts[req.Reference]++
				return provider.Result{}, fmt.Errorf("%w: issuer unavailable (91)", provider.ErrTransient)
			}
		case CardCaptureFails:
			return approved(id("c")), nil
		case CardRefundFails:
			return approved(id("r")), nil
		}
		return approved(id("")), nil
	})
}

// Authenticate implements provider.Processor.
func (p *Processor) Authenticate(_ context.Context, req provider.AuthenticateRequest) (provider.Result, error) {
	return p.once("Authenticate", req.Reference+"/3ds", func() (provider.Result, error) {
		if !strings.HasPrefix(req.ChallengeID, "sbx3ds-") {
			return declined("3DS", "unknown challenge"), nil
		}
		if req.Code != ThreeDSCode {
			return declined("3DS", "3-D Secure authentication failed"), nil
		}
		return approved(processorID("", req.Reference)), nil
	})
}

// Capture implements provider.Processor.
func (p *Processor) Capture(_ context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.once("Capture", req.Reference, func() (provider.Result, error) {
		if flags(req.ProcessorID) == "c" {
			return declined("CAPTURE_FAILED", "capture refused by the issuer"), nil
		}
		return approved(req.ProcessorID), nil
	})
}

// Void implements provider.Processor.
func (p *Processor) Void(_ context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.once("Void", req.Reference, func() (provider.Result, error) {
		return approved(req.ProcessorID), nil
	})
}

// Refund implements provider.Processor.
func (p *Processor) Refund(_ context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.once("Refund", req.Reference, func() (provider.Result, error) {
		if flags(req.ProcessorID) == "r" {
			return declined("REFUND_FAILED", "refund refused by the issuer"), nil
		}
		return approved(req.ProcessorID), nil
	})
}

// Status implements provider.Processor: a pending payment's verdict is in
// its processor id, so any replica can ask.
func (p *Processor) Status(_ context.Context, req provider.OperationRequest) (provider.Result, error) {
	p.mu.Lock()
	p.calls["Status"]++
	p.mu.Unlock()
	f := flags(req.ProcessorID)
	if len(f) < 3 || (f[:2] != "pa" && f[:2] != "pr") {
		return approved(req.ProcessorID), nil
	}
	ms, err := strconv.ParseInt(f[2:], 10, 64)
	if err != nil {
		return provider.Result{}, fmt.Errorf("sandbox: malformed processor id")
	}
	at := time.UnixMilli(ms)
	if p.now().Before(at) {
		return provider.Result{Outcome: provider.Pending, Code: "PENDING", Detail: "waiting for the issuer",
			ProcessorID: req.ProcessorID, ResolveAt: at}, nil
	}
	if f[:2] == "pr" {
		return provider.Result{Outcome: provider.Fraud, Code: "59", Detail: "issuer flagged the payment as fraud",
			ProcessorID: req.ProcessorID}, nil
	}
	return approved(req.ProcessorID), nil
}

// once runs op the first time a reference is seen and returns the same
// result for every repeat, as a bank keyed by the merchant's reference
// would. Transient failures are not remembered, so a retry runs again.
func (p *Processor) once(method, ref string, op func() (provider.Result, error)) (provider.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[method]++
	key := method + "\x00" + ref
	if r, ok := p.seen[key]; ok {
		return r, nil
	}
	r, err := op()
	if err != nil {
		return r, err
	}
	p.seen[key] = r
	if r.Outcome == provider.Approved || r.Outcome == provider.Pending {
		p.effects[method]++
	}
	return r, nil
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
