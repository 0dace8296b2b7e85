package provider

import (
	"context"
	"errors"
	"time"
)

// The reconciler settles work whose request died: an operation whose guid
// is still running past its deadline (the process crashed, or its final
// write kept failing), or the shopper's payment still PAYING past its
// own. It asks the processor by the work's reference and settles exactly
// as the request would have: the same step (with a sub-step saying it was
// settled by inquiry), the same money, the hold or reservation released,
// the reply stored under the guid, and the webhook of a payment. If the
// processor never received it, the processor closes the reference and
// the work is settled as declined, so nothing stays held.

// ReconcileReport says what one pass did, for logs and tests.
type ReconcileReport struct {
	Settled     int  // settled from the processor's record
	NotReceived int  // the processor never received them: released
	Dropped     int  // already settled by their request
	Postponed   int  // the processor has not decided yet
	More        bool // the pass claimed a whole batch: more may be due now
}

func (r *ReconcileReport) add(o ReconcileReport) {
	r.Settled += o.Settled
	r.NotReceived += o.NotReceived
	r.Dropped += o.Dropped
	r.Postponed += o.Postponed
}

// undecided is an answer that is not an outcome yet.
func undecided(r Result) bool { return r.Outcome == Pending || r.Outcome == Challenge }

// reconcileBatch is how many entries one pass claims.
const reconcileBatch = 50

// RunReconciler settles work in doubt as it falls due, until ctx ends,
// telling onPass what each pass did. Several replicas may run it: each
// entry is claimed by one at a time.
func (s *Service) RunReconciler(ctx context.Context, interval time.Duration, onPass func(ReconcileReport, error)) {
	passes(ctx, interval, func() bool {
		rep, err := s.ReconcileOnce(ctx)
		if onPass != nil && ctx.Err() == nil {
			onPass(rep, err)
		}
		return rep.More
	})
}

// ReconcileOnce settles what is in doubt now.
func (s *Service) ReconcileOnce(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	due, err := s.store.ClaimDoubts(ctx, s.now(), s.cfg.Lease, reconcileBatch)
	if err != nil {
		return rep, storeError(err)
	}
	rep.More = full(len(due), reconcileBatch)
	err = eachClaimed(due, func(d Doubt, r *ReconcileReport) error {
		switch d.Kind {
		case DoubtOperation:
			return s.settleOperation(ctx, d, r)
		case DoubtPayment:
			return s.settlePayment(ctx, d, r)
		}
		return s.store.DropDoubt(ctx, d)
	}, rep.add)
	return rep, err
}

// settleOperation settles a purchase, void or refund whose request died.
func (s *Service) settleOperation(ctx context.Context, d Doubt, rep *ReconcileReport) error {
	run, sess, err := s.store.DoubtfulOperation(ctx, d)
	if errors.Is(err, ErrNotFound) || (err == nil && sess == nil) {
		rep.Dropped++
		return s.store.DropDoubt(ctx, d)
	}
	if err != nil {
		return storeError(err)
	}
	in := OperationInput{
		Request: Request{Merchant: &Merchant{ID: d.Merchant}, GUID: d.ID, OrderID: d.OrderID, Fingerprint: run.Fingerprint},
		Amount:  run.Amount, Currency: sess.Currency,
	}
	req := operationRequest(run.Action, in, sess)
	inq, err := s.inquire(ctx, sess, InquiryRequest{Operation: processorOp(run.Action), Reference: req.Reference, ProcessorID: req.ProcessorID})
	if err != nil {
		return err // the entry comes back after its lease
	}
	if undecided(inq.Result) && inq.Received {
		// The processor took it and has not decided (an asynchronous
		// refund): ask again later; the hold or reservation stays.
		rep.Postponed++
		return s.store.PostponeDoubt(ctx, d, s.now().Add(s.cfg.Lease))
	}
	res, sub := Settled(inq, s.now())
	settle, step, out := s.outcome(run.Action, in, sess, req.Amount, res, []SubStep{sub})
	fin := FinishInput{Claim: Claim{Merchant: d.Merchant, OrderID: d.OrderID, GUID: d.ID, Token: run.Token, Fingerprint: run.Fingerprint},
		Settle: settle, Step: MarshalStep(*step), Reply: s.render.Operation(out)}
	if _, err := s.finish(ctx, fin, false); err != nil {
		return err
	}
	count(rep, inq)
	return nil
}

// settlePayment settles the shopper's payment whose request died at the
// processor. A payment the bank approved is recorded and Akinon is told
// by webhook, however late: the money is the shopper's, held for the
// order, and Akinon decides (purchase or void) as for any payment.
func (s *Service) settlePayment(ctx context.Context, d Doubt, rep *ReconcileReport) error {
	sess, err := s.store.Order(ctx, d.Merchant, d.OrderID)
	if errors.Is(err, ErrNotFound) || (err == nil && (sess.ID != d.ID || sess.Phase != PhasePaying)) {
		rep.Dropped++
		return s.store.DropDoubt(ctx, d)
	}
	if err != nil {
		return storeError(err)
	}
	if s.now().Before(sess.PayUntil.Add(s.cfg.Margin)) {
		// Claimed again since (the 3-D Secure stage, after the card
		// stage's request came back late): not due. The new claim put
		// the entry back with its own deadline.
		return nil
	}
	op := OpAuthorise
	if sess.PayStage == StageThreeDS {
		op = OpAuthenticate
	}
	inq, err := s.inquire(ctx, sess, InquiryRequest{Operation: op, Reference: payReference(sess), ProcessorID: sess.ProcessorID})
	if err != nil {
		return err
	}
	res, sub := Settled(inq, s.now())
	claim := PaymentClaim{SessionID: sess.ID, Merchant: sess.Merchant, OrderID: sess.OrderID, Stage: sess.PayStage,
		Token: sess.PayToken, Now: s.now(), Amount: sess.PayAmount, Installment: sess.Installment,
		CardBIN: sess.CardBIN, CardLast4: sess.CardLast4}
	if _, err := s.settle(ctx, sess, claim, res, append(sess.PaySubSteps, sub)); err != nil {
		return err
	}
	count(rep, inq)
	return nil
}

func (s *Service) inquire(ctx context.Context, sess *Session, req InquiryRequest) (Inquiry, error) {
	ictx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	inq, err := s.processor(sess).Inquire(ictx, req)
	if err != nil {
		return Inquiry{}, Wrap(CodeOutcomeUnknown, "inquiry", err)
	}
	return inq, nil
}

func count(rep *ReconcileReport, inq Inquiry) {
	if inq.Received {
		rep.Settled++
	} else {
		rep.NotReceived++
	}
}

// InDoubt lists the work not settled yet: every claimed operation,
// reservation, hold and payment at the processor, with its deadline.
// Entries past their deadline are the reconciler's to settle.
func (s *Service) InDoubt(ctx context.Context) ([]Doubt, error) {
	ds, err := s.store.Doubts(ctx)
	if err != nil {
		return nil, storeError(err)
	}
	return ds, nil
}
