package processortest

import (
	"context"
	"maps"

	"github.com/akinon-gateway/gateway/provider"
)

type scenario struct {
	name string
	run  func(h *harness)
}

// scenarios is the kit: what every processor must do, in the order a
// payment lives.
var scenarios = []scenario{
	{Approve, func(h *harness) {
		p := h.approved(h.Cards.Approve, provider.Sale)
		h.must(provider.Approved, "capture", p, reference("cap"), p.amount)
		h.books(p, "authorised", p.amount, p.amount, 0, 0)
	}},
	{Decline, func(h *harness) {
		p := h.pay(h.Cards.Decline, provider.Sale, h.ChallengeCode)
		h.outcome(p, provider.Declined)
		h.notHeld(p)
	}},
	{Frictionless, func(h *harness) {
		p := h.approved(h.Cards.Frictionless, provider.Auth)
		h.challenged(p, false, "a frictionless card")
		h.books(p, "authorised", p.amount, 0, 0, 0)
	}},
	{ChallengePassed, func(h *harness) {
		p := h.approved(h.Cards.Challenge, provider.Auth)
		h.challenged(p, true, "the challenge card")
		h.books(p, "authorised", p.amount, 0, 0, 0)
	}},
	{ChallengeFailed, func(h *harness) {
		p := h.pay(h.Cards.Challenge, provider.Auth, "000000")
		h.outcome(p, provider.Declined)
		h.notHeld(p)
	}},
	{NotEnrolled, func(h *harness) {
		p := h.approved(h.Cards.NotEnrolled, provider.Auth)
		h.challenged(p, false, "a card not enrolled")
	}},
	{PartialCapture, func(h *harness) {
		p := h.approved(h.Cards.Approve, provider.Auth)
		h.must(provider.Approved, "capture", p, reference("cap"), 6000)
		h.books(p, "authorised", p.amount, 6000, 0, 0)
	}},
	{PartialRefunds, func(h *harness) {
		p := h.captured()
		for _, m := range []provider.Money{3000, 3000, 4000} {
			h.must(provider.Approved, "refund", p, reference("ref"), m)
		}
		h.books(p, "authorised", p.amount, p.amount, p.amount, 0)
	}},
	{RefundAboveBalance, func(h *harness) {
		p := h.captured()
		h.must(provider.Approved, "refund", p, reference("ref"), 6000)
		h.must(provider.Declined, "refund", p, reference("ref"), 5000)
		h.books(p, "authorised", p.amount, p.amount, 6000, 0)
	}},
	{VoidBeforeCapture, func(h *harness) {
		p := h.approved(h.Cards.Approve, provider.Auth)
		h.must(provider.Approved, "void", p, reference("void"), p.amount)
		h.books(p, "voided", p.amount, 0, 0, p.amount)
	}},
	{VoidAfterCapture, func(h *harness) {
		p := h.captured()
		h.must(provider.Approved, "void", p, reference("void"), p.amount)
		h.books(p, "voided", p.amount, p.amount, 0, p.amount)
	}},
	{InquireTerminal, inquireTerminal},
	{InquireNotReceived, inquireNotReceived},
	{SameReferenceTwice, func(h *harness) {
		p := h.approved(h.Cards.Approve, provider.Auth)
		capRef, refRef := reference("cap"), reference("ref")
		for range 2 {
			h.must(provider.Approved, "capture", p, capRef, p.amount)
		}
		for range 2 {
			h.must(provider.Approved, "refund", p, refRef, 2500)
		}
		if a, ok := h.account(p); ok && (entries(a, provider.OpCapture) != 1 || entries(a, provider.OpRefund) != 1 || a.Refunded != 2500) {
			h.t.Fatalf("repeated references acted more than once: %+v", a)
		}
	}},
	{CancelledInDoubt, func(h *harness) {
		p := h.approved(h.Cards.Approve, provider.Auth)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := h.Processor.Capture(ctx, provider.OperationRequest{Reference: reference("cap"),
			ProcessorID: p.res.ProcessorID, Amount: p.amount, Currency: h.Currency})
		h.note(res, err)
		if err == nil || res.Outcome == provider.Approved {
			h.t.Fatalf("a capture with a cancelled context answered %s, %v: it must be an error, never an approval", res.Outcome, err)
		}
	}},
	{TimeoutInDoubt, timeoutInDoubt},
	{TamperedReturn, func(h *harness) {
		p := h.start(h.Cards.Frictionless, provider.Auth, h.ChallengeCode)
		for _, change := range []func(map[string]string){
			func(f map[string]string) { f["amount"] = "1.00" },
			func(f map[string]string) { f["mdStatus"] = "1"; f["oid"] = reference("other") },
			func(f map[string]string) { k := signatureField(f); f[k] = f[k][:max(len(f[k])-4, 0)] + "AAA=" },
		} {
			f := maps.Clone(p.walk.fields)
			change(f)
			if res := h.complete(p, f); res.Outcome == provider.Approved {
				h.t.Fatalf("a tampered return was approved: %+v", res)
			}
		}
		h.notHeld(p)
	}},
	{ReplayedReturn, func(h *harness) {
		p := h.start(h.Cards.Frictionless, provider.Auth, h.ChallengeCode)
		first := h.complete(p, p.walk.fields)
		if first.Outcome != provider.Approved {
			h.t.Fatalf("first return = %s %s", first.Outcome, first.Detail)
		}
		h.complete(p, p.walk.fields)
		// The approval that holds the money is the authorisation's or, for
		// a bank that books the 3-D Secure completion apart, that one's.
		if a, ok := h.account(p); ok && (entries(a, provider.OpAuthorise)+entries(a, provider.OpAuthenticate) != 1 || a.Authorised != p.amount) {
			h.t.Fatalf("a replayed return acted twice: %+v", a)
		}
	}},
	{MismatchedReturn, func(h *harness) {
		a := h.start(h.Cards.Frictionless, provider.Auth, h.ChallengeCode)
		b := h.start(h.Cards.Frictionless, provider.Auth, h.ChallengeCode)
		if res := h.complete(b, a.walk.fields); res.Outcome == provider.Approved {
			h.t.Fatalf("payment %s approved with the return of %s", b.ref, a.ref)
		}
		bigger := b
		bigger.amount = b.amount + 1
		if res := h.complete(bigger, b.walk.fields); res.Outcome == provider.Approved {
			h.t.Fatal("a return approved for an amount other than the gateway stored")
		}
		h.notHeld(a)
		h.notHeld(b)
	}},
	{NoCardDataAnywhere, func(h *harness) {
		p := h.pay(h.Cards.Challenge, provider.Auth, "000000")
		h.pay(h.Cards.Decline, provider.Sale, h.ChallengeCode)
		q := h.approved(h.Cards.Approve, provider.Auth)
		h.must(provider.Approved, "capture", q, reference("cap"), q.amount)
		h.account(p)
		h.account(q) // noCardData, run after every scenario, reads all of it
	}},
}

func (h *harness) approved(number string, typ provider.PaymentType) payment {
	h.t.Helper()
	p := h.pay(number, typ, h.ChallengeCode)
	h.outcome(p, provider.Approved)
	return p
}

func (h *harness) captured() payment {
	h.t.Helper()
	p := h.approved(h.Cards.Approve, provider.Auth)
	h.must(provider.Approved, "capture", p, reference("cap"), p.amount)
	return p
}

func (h *harness) outcome(p payment, want provider.Outcome) {
	h.t.Helper()
	if p.res.Outcome != want {
		h.t.Fatalf("payment %s = %s (%s %s), want %s; %s", p.ref, p.res.Outcome, p.res.Code, p.res.Detail, want, describe(p.walk))
	}
}

func (h *harness) books(p payment, state string, authorised, captured, refunded, voided provider.Money) {
	h.t.Helper()
	a, ok := h.account(p)
	if !ok {
		return
	}
	if a.State != state || a.Authorised != authorised || a.Captured != captured || a.Refunded != refunded || a.Voided != voided {
		h.t.Fatalf("bank's books %+v, want %s authorised %s captured %s refunded %s voided %s",
			a, state, authorised, captured, refunded, voided)
	}
}

// challenged fails unless the card's way met a 3-D Secure challenge
// exactly when want says.
func (h *harness) challenged(p payment, want bool, card string) {
	h.t.Helper()
	if p.walk.challenge != want {
		h.t.Fatalf("%s: challenged %v, want %v: %s", card, p.walk.challenge, want, describe(p.walk))
	}
}

func (h *harness) notHeld(p payment) {
	h.t.Helper()
	if a, ok := h.account(p); ok && (a.State == "authorised" || a.Authorised != 0) {
		h.t.Fatalf("the bank holds a payment the processor did not approve: %+v", a)
	}
}

func inquireTerminal(h *harness) {
	ask := func(op provider.Operation, ref string, p payment) provider.Inquiry {
		h.t.Helper()
		in, err := h.Processor.Inquire(h.ctx(), provider.InquiryRequest{Operation: op, Reference: ref, ProcessorID: p.res.ProcessorID})
		h.note(in.Result, err)
		if err != nil {
			h.t.Fatalf("Inquire %s %s: %v", op, ref, err)
		}
		return in
	}
	want := func(in provider.Inquiry, outcome provider.Outcome, amount provider.Money, what string) {
		h.t.Helper()
		if !in.Received || in.Result.Outcome != outcome || (outcome == provider.Approved && in.Amount != amount) {
			h.t.Fatalf("Inquire %s = %+v, want received %s %s", what, in, outcome, amount)
		}
	}
	paid := h.approved(h.Cards.Approve, provider.Auth)
	want(ask(provider.OpAuthorise, paid.ref, paid), provider.Approved, paid.amount, "approved payment")
	capRef, refRef, voidRef := reference("cap"), reference("ref"), reference("void")
	h.must(provider.Approved, "capture", paid, capRef, paid.amount)
	want(ask(provider.OpCapture, capRef, paid), provider.Approved, paid.amount, "capture")
	h.must(provider.Approved, "refund", paid, refRef, 1500)
	want(ask(provider.OpRefund, refRef, paid), provider.Approved, 1500, "refund")

	held := h.approved(h.Cards.Approve, provider.Auth)
	h.must(provider.Approved, "void", held, voidRef, held.amount)
	want(ask(provider.OpVoid, voidRef, held), provider.Approved, held.amount, "void")

	declined := h.pay(h.Cards.Decline, provider.Sale, h.ChallengeCode)
	h.outcome(declined, provider.Declined)
	want(ask(provider.OpAuthorise, declined.ref, declined), provider.Declined, 0, "declined payment")
}

func inquireNotReceived(h *harness) {
	ghost := payment{ref: reference("ghost"), amount: defaultAmount, typ: provider.Auth}
	in, err := h.Processor.Inquire(h.ctx(), provider.InquiryRequest{Operation: provider.OpAuthorise, Reference: ghost.ref})
	h.note(in.Result, err)
	if err != nil || in.Received {
		h.t.Fatalf("Inquire of a reference never sent = %+v, %v; want not received", in, err)
	}
	// Closed: the same reference arriving late cannot be approved.
	late := h.latePayment(ghost)
	if late.Outcome == provider.Approved {
		h.t.Fatalf("a payment found not received was approved afterwards: %+v", late)
	}
	h.notHeld(ghost)

	paid := h.approved(h.Cards.Approve, provider.Auth)
	capRef := reference("cap")
	in, err = h.Processor.Inquire(h.ctx(), provider.InquiryRequest{Operation: provider.OpCapture, Reference: capRef, ProcessorID: paid.res.ProcessorID})
	h.note(in.Result, err)
	if err != nil || in.Received {
		h.t.Fatalf("Inquire of a capture never sent = %+v, %v; want not received", in, err)
	}
	if res, err := h.op("capture", paid, capRef, paid.amount); err == nil && res.Outcome == provider.Approved {
		h.t.Fatalf("a capture found not received was approved afterwards: %+v", res)
	}
	h.books(paid, "authorised", paid.amount, 0, 0, 0)
}

// latePayment tries to pay a reference after an inquiry closed it: an
// error or a refusal anywhere on the way is the expected end.
func (h *harness) latePayment(p payment) provider.Result {
	res, err := h.Processor.Authorise(h.ctx(), provider.AuthoriseRequest{Reference: p.ref, Type: p.typ, Amount: p.amount,
		Currency: h.Currency, Card: h.card(h.Cards.Approve), ReturnURL: h.returns.url(p.ref)})
	h.note(res, err)
	if err != nil || res.Redirect == nil {
		return res
	}
	w, err := follow(h.ctx(), h.returns, p.ref, res.Redirect, h.ChallengeCode)
	if err != nil { // the bank refused the closed order at its gate
		return provider.Result{Outcome: provider.Declined, Detail: err.Error()}
	}
	return h.complete(p, w.fields)
}

func timeoutInDoubt(h *harness) {
	if h.Faults == nil {
		h.t.Skip("the kit has no fault switches for this processor")
	}
	p := h.approved(h.Cards.Approve, provider.Auth)
	defer h.Faults.Reset(h.t)

	h.Faults.Slow(h.t, slowAnswer)
	ctx, cancel := context.WithTimeout(context.Background(), shortDeadline)
	defer cancel()
	capRef := reference("cap")
	res, err := h.Processor.Capture(ctx, provider.OperationRequest{Reference: capRef, ProcessorID: p.res.ProcessorID, Amount: p.amount, Currency: h.Currency})
	h.note(res, err)
	if !inDoubt(res, err) {
		h.t.Fatalf("a capture past its deadline answered %s, %v: want in doubt (an error that is not ErrTransient)", res.Outcome, err)
	}

	h.Faults.DropAfterActing(h.t)
	voidRef := reference("void")
	res, err = h.op("void", p, voidRef, p.amount)
	if !inDoubt(res, err) {
		h.t.Fatalf("a void the bank acted on but never answered = %s, %v: want in doubt", res.Outcome, err)
	}
	h.Faults.Reset(h.t)
	// Settled by inquiry: the bank's record, whatever the lost answer was.
	// The slow capture may not have reached the bank's books yet; then the
	// inquiry closes it and it must never land.
	captured := provider.Money(0)
	in, err := h.Processor.Inquire(h.ctx(), provider.InquiryRequest{Operation: provider.OpCapture, Reference: capRef, ProcessorID: p.res.ProcessorID})
	h.note(in.Result, err)
	switch {
	case err != nil:
		h.t.Fatalf("Inquire capture after the deadline: %v", err)
	case in.Received && in.Result.Outcome == provider.Approved:
		captured = p.amount
	case in.Received:
		h.t.Fatalf("Inquire capture after the deadline = %+v: want approved or not received", in)
	}
	in, err = h.Processor.Inquire(h.ctx(), provider.InquiryRequest{Operation: provider.OpVoid, Reference: voidRef, ProcessorID: p.res.ProcessorID})
	h.note(in.Result, err)
	if err != nil || !in.Received || in.Result.Outcome != provider.Approved {
		h.t.Fatalf("Inquire void after the lost answer = %+v, %v; want the bank's approval", in, err)
	}
	voided := p.amount
	if captured > 0 {
		voided = captured
	}
	h.books(p, "voided", p.amount, captured, 0, voided)
	h.t.Logf("slow capture settled by inquiry as received=%v; void settled as approved", captured > 0)
}

// signatureField names the field of a bank's return most likely to be its
// signature: NestPay's HASH, or else the longest value.
func signatureField(f map[string]string) string {
	if _, ok := f["HASH"]; ok {
		return "HASH"
	}
	best := ""
	for k, v := range f {
		if len(v) > len(f[best]) || (len(v) == len(f[best]) && k < best) {
			best = k
		}
	}
	return best
}
