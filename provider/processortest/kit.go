// Package processortest is the conformance kit every processor must pass:
// one Run over a table of scenarios (approve, decline, 3-D Secure, captures,
// refunds, voids, inquiries, repeated references, faults, returns that are
// tampered, replayed or mismatched, and card data kept out of sight). It
// follows a Redirect as a browser would and then calls Complete.
package processortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// Cards are the processor's test cards for each behaviour.
type Cards struct {
	Approve, Decline, Frictionless, Challenge, NotEnrolled string
}

// Faults are the bank's fault switches; a kit without them skips the
// scenarios that need them.
type Faults interface {
	Slow(t *testing.T, d time.Duration)
	DropAfterActing(t *testing.T)
	Reset(t *testing.T)
}

// Kit is one processor under test.
type Kit struct {
	Processor     provider.Processor
	Books         provider.Books // the bank's books, read after every scenario
	Cards         Cards
	ChallengeCode string
	Currency      string // e.g. TRY
	Faults        Faults
	// Stored dumps every value the processor and its bank keep, to show no
	// card number or CVV is among them; nil skips that part.
	Stored func(t *testing.T) []string
	// Skip names scenarios the processor cannot do yet, each with its reason.
	Skip map[string]string
}

// Scenario names, for Kit.Skip.
const (
	Approve             = "approve"
	Decline             = "decline"
	Frictionless        = "3ds frictionless"
	ChallengePassed     = "3ds challenge passed"
	ChallengeFailed     = "3ds challenge failed"
	NotEnrolled         = "3ds not enrolled"
	PartialCapture      = "partial capture"
	PartialRefunds      = "several partial refunds"
	RefundAboveBalance  = "refund above the balance refused"
	VoidBeforeCapture   = "void before capture"
	VoidAfterCapture    = "void after capture"
	InquireTerminal     = "inquire every terminal state"
	InquireNotReceived  = "inquire a reference never received closes it"
	SameReferenceTwice  = "same reference twice is one effect"
	CancelledInDoubt    = "cancelled context is in doubt"
	TimeoutInDoubt      = "timeout or lost answer is in doubt, settled by inquiry"
	TamperedReturn      = "tampered return never approved"
	ReplayedReturn      = "replayed return acts once"
	MismatchedReturn    = "mismatched return never approved"
	NoCardDataAnywhere  = "no card number or CVV stored, logged or in an error"
	defaultAmount       = provider.Money(10000)
	defaultCVC          = "987"
	callTimeout         = 20 * time.Second
	slowAnswer          = 2 * time.Second
	shortDeadline       = 300 * time.Millisecond
	approvedOutcomeText = string(provider.Approved)
)

// Run runs every scenario against the kit's processor, each as a subtest
// named after it.
func Run(t *testing.T, k Kit) {
	t.Helper()
	if k.Currency == "" {
		k.Currency = "TRY"
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if why, skip := k.Skip[s.name]; skip {
				t.Skip(why)
			}
			h := &harness{Kit: k, t: t, returns: newReturns(t)}
			s.run(h)
			h.noCardData()
		})
	}
}

// harness is one scenario's run: it remembers every card used and every
// error and result seen, for the card-data check at the end.
type harness struct {
	Kit
	t       *testing.T
	returns *returns
	cards   []provider.Card
	seen    []string
}

// payment is one authorisation under test.
type payment struct {
	ref    string
	typ    provider.PaymentType
	amount provider.Money
	res    provider.Result
	walk   walk
}

func reference(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *harness) card(number string) provider.Card {
	c := provider.Card{Holder: "Ada Lovelace", Number: number, ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: defaultCVC}
	h.cards = append(h.cards, c)
	return c
}

// start asks Authorise and, when the processor redirects, follows the
// browser to the bank and back, without completing.
func (h *harness) start(number string, typ provider.PaymentType, code string) payment {
	h.t.Helper()
	p := payment{ref: reference("pay"), typ: typ, amount: defaultAmount}
	res, err := h.Processor.Authorise(h.ctx(), provider.AuthoriseRequest{Reference: p.ref, Type: typ, Amount: p.amount,
		Currency: h.Currency, Card: h.card(number), ReturnURL: h.returns.url(p.ref), Locale: "en"})
	h.note(res, err)
	if err != nil {
		h.t.Fatalf("Authorise: %v", err)
	}
	p.res = res
	if res.Outcome == provider.Challenge && res.Redirect != nil {
		if p.walk, err = follow(h.ctx(), h.returns, p.ref, res.Redirect, code); err != nil {
			h.t.Fatal(err)
		}
	}
	return p
}

// pay starts and finishes a payment as the gateway would.
func (h *harness) pay(number string, typ provider.PaymentType, code string) payment {
	h.t.Helper()
	p := h.start(number, typ, code)
	switch {
	case p.res.Outcome != provider.Challenge:
	case p.res.Redirect != nil:
		p.res = h.complete(p, p.walk.fields)
	default:
		h.t.Fatalf("a challenge without a Redirect: the shopper has no bank page to go to (%+v)", p.res)
	}
	return p
}

func (h *harness) complete(p payment, fields map[string]string) provider.Result {
	h.t.Helper()
	c, ok := h.Processor.(provider.Completer)
	if !ok {
		h.t.Fatal("the processor redirected but is no provider.Completer")
	}
	res, err := c.Complete(h.ctx(), provider.CompleteRequest{Reference: p.ref, Type: p.typ, Amount: p.amount,
		Currency: h.Currency, Installment: 1, Fields: fields})
	h.note(res, err)
	if err != nil {
		h.t.Fatalf("Complete: %v", err)
	}
	return res
}

func (h *harness) op(action string, p payment, ref string, amount provider.Money) (provider.Result, error) {
	req := provider.OperationRequest{Reference: ref, ProcessorID: p.res.ProcessorID, Amount: amount, Currency: h.Currency}
	var res provider.Result
	var err error
	switch action {
	case "capture":
		res, err = h.Processor.Capture(h.ctx(), req)
	case "void":
		res, err = h.Processor.Void(h.ctx(), req)
	default:
		res, err = h.Processor.Refund(h.ctx(), req)
	}
	h.note(res, err)
	return res, err
}

// must runs an operation that must be answered with want.
func (h *harness) must(want provider.Outcome, action string, p payment, ref string, amount provider.Money) {
	h.t.Helper()
	res, err := h.op(action, p, ref, amount)
	if err != nil {
		h.t.Fatalf("%s %s: %v", action, amount, err)
	}
	if res.Outcome != want {
		h.t.Fatalf("%s %s = %s (%s %s), want %s", action, amount, res.Outcome, res.Code, res.Detail, want)
	}
}

func (h *harness) note(res provider.Result, err error) {
	h.seen = append(h.seen, fmt.Sprintf("%+v %#v %v", res, res, res.Redirect))
	if err != nil {
		h.seen = append(h.seen, err.Error(), fmt.Sprintf("%+v", err))
	}
}

// account reads the bank's books for a payment, or skips the check when
// the kit has none.
func (h *harness) account(p payment) (provider.Account, bool) {
	h.t.Helper()
	if h.Books == nil {
		return provider.Account{}, false
	}
	a, err := h.Books.Account(h.ctx(), p.ref)
	if err != nil {
		h.t.Fatalf("books: %v", err)
	}
	h.seen = append(h.seen, fmt.Sprintf("%+v", a))
	return a, true
}

// entries counts the bank's approved entries of op for a payment.
func entries(a provider.Account, op provider.Operation) int {
	n := 0
	for _, e := range a.Entries {
		if e.Op == op && e.Outcome == approvedOutcomeText {
			n++
		}
	}
	return n
}

// noCardData checks that no card number or CVV used in the scenario is in
// any result, error, book or stored value.
func (h *harness) noCardData() {
	h.t.Helper()
	seen := h.seen
	if h.Stored != nil {
		seen = append(seen, h.Stored(h.t)...)
	}
	all := strings.Join(seen, "\n")
	for _, c := range h.cards {
		if strings.Contains(all, c.Number) {
			h.t.Errorf("card number %s…%s found in a result, error, book or stored value", c.BIN(), c.Last4())
		}
		if strings.Contains(all, "cv2="+c.CVC) || strings.Contains(all, `"`+c.CVC+`"`) || strings.Contains(all, ">"+c.CVC+"<") {
			h.t.Errorf("the CVV of card %s…%s found in a result, error, book or stored value", c.BIN(), c.Last4())
		}
	}
}

// inDoubt reports whether an answer leaves the operation in doubt: an
// error that is not ErrTransient, never an approval.
func inDoubt(res provider.Result, err error) bool {
	return err != nil && res.Outcome != provider.Approved && !errors.Is(err, provider.ErrTransient)
}
