package provider

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"
)

// PageState is what the hosted page should show for a session.
type PageState int

const (
	PageForm       PageState = iota + 1 // the card form
	PageThreeDS                         // the shopper is at the bank's 3-D Secure page
	PageProcessing                      // a payment is at the processor; look again shortly
	PageDone                            // the payment has an outcome: send the shopper back
	PageGone                            // expired or replaced: nothing to pay
)

// PageView is a session as the hosted page sees it.
type PageView struct {
	Session      *Session
	State        PageState
	Installments []int       // offered counts
	Errors       FieldErrors // a refused form, to show beside its fields
	TriesLeft    int
	// Redirect, on the answer to the card form only, is the form that
	// takes the shopper to the bank; it is never stored, so a later view
	// of a session at the bank has none.
	Redirect *Redirect
}

// Session reads the session behind a hosted-page id. An unknown id is
// CodeSessionUnknown.
func (s *Service) Session(ctx context.Context, id string) (*Session, error) {
	sess, err := s.store.Session(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, Errorf(CodeSessionUnknown, "", "unknown payment session")
	case err != nil:
		return nil, storeError(err)
	}
	return sess, nil
}

// Page says what the hosted page shows for a session id, now. The id of a
// session that a newer start-session replaced is gone: only the newer
// one can be paid.
func (s *Service) Page(m *Merchant, id string, sess *Session) PageView {
	if sess.ID != id {
		return PageView{Session: sess, State: PageGone}
	}
	return s.view(m, sess, s.now())
}

func (s *Service) view(m *Merchant, sess *Session, now time.Time) PageView {
	v := PageView{Session: sess, Installments: m.Installments(sess.Currency), TriesLeft: s.cfg.MaxTries - sess.Tries}
	switch sess.EffectivePhase(now) {
	case PhaseWaiting:
		v.State = PageForm
	case PhaseThreeDS:
		v.State = PageThreeDS
	case PhasePaying:
		// The payment is at the processor, or its request died there: the
		// reconciler settles it after its lease. The form never comes
		// back meanwhile, so a second card can never ride on the same
		// reference.
		v.State = PageProcessing
	case PhaseExpired:
		v.State = PageGone
	default:
		v.State = PageDone
	}
	return v
}

// Pay takes the shopper's card form. A refused form is counted; a valid
// one reaches the processor at most once per session.
func (s *Service) Pay(ctx context.Context, m *Merchant, sess *Session, form CardForm) (PageView, error) {
	now := s.now()
	v := s.view(m, sess, now)
	if v.State != PageForm {
		return v, nil
	}
	parsed, errs := form.Parse(now, v.Installments)
	p := s.processor(sess)
	if errs == nil && parsed.Installment > 1 && !p.Installments(parsed.Card.BIN()) {
		errs = FieldErrors{{Code: CodeInvalidField, Field: "installment", Message: "this card cannot be paid in installments"}}
	}
	if errs != nil {
		return s.refuse(ctx, m, sess, errs, now)
	}

	amount := sess.Amount.WithRate(m.InstallmentRates[parsed.Installment])
	claim := s.paymentClaim(sess, StageCard, now)
	claim.Amount, claim.Installment = amount, parsed.Installment
	claim.CardBIN, claim.CardLast4 = parsed.Card.BIN(), parsed.Card.Last4()
	claimed, err := s.claimPayment(ctx, claim)
	if err != nil {
		return s.afterClaimError(ctx, m, sess.ID, err)
	}
	budget := s.budget()
	ref := payReference(sess)
	// The attempt names the bank's return in its path; it is kept as the
	// session's ChallengeID, so only this attempt's return is taken.
	attempt := newToken()
	res, subs, err := s.call(ctx, budget, func(ctx context.Context) (Result, error) {
		return p.Authorise(ctx, AuthoriseRequest{Reference: ref, Type: sess.Type,
			Amount: amount, Currency: sess.Currency, Installment: parsed.Installment, Card: parsed.Card,
			ReturnURL: form.ReturnBase + attempt, Locale: sess.Locale})
	}, func(ctx context.Context) (Inquiry, error) {
		return p.Inquire(ctx, InquiryRequest{Operation: OpAuthorise, Reference: ref})
	})
	if err != nil {
		return s.inDoubt(m, claimed, err)
	}
	if res.Outcome == Challenge && res.Redirect != nil {
		res.ChallengeID = attempt
	}
	after, err := s.settle(ctx, claimed, claim, res, subs)
	if err != nil {
		return s.inDoubt(m, claimed, err)
	}
	v = s.view(m, after, s.now())
	if v.State == PageThreeDS {
		v.Redirect = res.Redirect
	}
	return v, nil
}

// inDoubt is the page of a payment whose outcome could not be known or
// stored: "processing", which the shopper's browser refreshes until the
// request's retries or the reconciler have settled it. Other errors stay
// errors.
func (s *Service) inDoubt(m *Merchant, claimed *Session, err error) (PageView, error) {
	if ErrorCode(err) != CodeOutcomeUnknown {
		return PageView{}, err
	}
	return PageView{Session: claimed, State: PageProcessing, Installments: m.Installments(claimed.Currency)}, nil
}

// paymentClaim is the claim of a session's payment for one stage.
func (s *Service) paymentClaim(sess *Session, stage string, now time.Time) PaymentClaim {
	return PaymentClaim{SessionID: sess.ID, Merchant: sess.Merchant, OrderID: sess.OrderID,
		Stage: stage, Token: newToken(), Lease: s.cfg.Lease, Deadline: now.Add(s.cfg.Lease + s.cfg.Margin), Now: now}
}

// paid is the session as the processor's answer leaves it. The card
// stage took what its claim asked; the 3-D Secure stage completes what the
// card stage asked, already on the session.
func paid(claimed *Session, claim PaymentClaim, res Result, subs []SubStep) *Session {
	p := *claimed
	if claim.Stage != StageThreeDS {
		p.Authorised, p.Installment = claim.Amount, claim.Installment
		p.CardBIN, p.CardLast4 = claim.CardBIN, claim.CardLast4
	}
	switch res.Outcome {
	case Approved:
		p.Phase, p.Rejection = PhaseAuthorised, ""
	case Challenge:
		p.Phase, p.Rejection = PhaseThreeDS, ""
	case Pending:
		p.Phase, p.Rejection = PhasePending, ""
	case Fraud:
		p.Phase, p.Rejection = PhaseRejected, SubRisky
	default:
		p.Phase, p.Rejection = PhaseRejected, SubProcessingError
	}
	p.Detail, p.PaySubSteps = res.Detail, subs
	p.ProcessorID, p.ChallengeID, p.ResolveAt = res.ProcessorID, res.ChallengeID, res.ResolveAt
	p.PayStage, p.PayUntil, p.PayToken, p.PayAmount = "", time.Time{}, "", 0
	return &p
}

// Return takes the shopper's browser back from the bank for one attempt
// and finishes the payment with the bank's fields. The attempt is claimed
// once in the store, so a replayed or concurrent return finds the payment
// settled or at the processor and changes nothing; a return for another
// attempt, or for a session no longer at the bank, only shows the page.
// The amount, currency and installment are the ones stored with the card
// stage, never the browser's.
func (s *Service) Return(ctx context.Context, m *Merchant, sess *Session, attempt string, fields map[string]string) (PageView, error) {
	now := s.now()
	v := s.view(m, sess, now)
	if v.State != PageThreeDS || sess.ChallengeID == "" ||
		subtle.ConstantTimeCompare([]byte(attempt), []byte(sess.ChallengeID)) != 1 {
		return v, nil
	}
	claim := s.paymentClaim(sess, StageThreeDS, now)
	claimed, err := s.claimPayment(ctx, claim)
	if err != nil {
		return s.afterClaimError(ctx, m, sess.ID, err)
	}
	p := s.processor(claimed)
	ref := payReference(claimed)
	res, subs, err := s.call(ctx, s.budget(), func(ctx context.Context) (Result, error) {
		c, ok := p.(Completer)
		if !ok {
			return Result{Outcome: Declined, Code: "3DS", Detail: "the processor takes no return from a bank"}, nil
		}
		return c.Complete(ctx, CompleteRequest{Reference: ref, Type: claimed.Type, Amount: claimed.Authorised,
			Currency: claimed.Currency, Installment: claimed.Installment, Fields: fields})
	}, func(ctx context.Context) (Inquiry, error) {
		return p.Inquire(ctx, InquiryRequest{Operation: OpAuthenticate, Reference: ref, ProcessorID: claimed.ProcessorID})
	})
	if err != nil {
		return s.inDoubt(m, claimed, err)
	}
	if res.Outcome == Challenge {
		// A second challenge cannot be followed from here: the return
		// must end the authentication.
		res = Result{Outcome: Declined, Code: res.Code, Detail: "3-D Secure did not end at the bank"}
	}
	after, err := s.settle(ctx, claimed, claim, res, append(claimed.PaySubSteps, subs...))
	if err != nil {
		return s.inDoubt(m, claimed, err)
	}
	return s.view(m, after, s.now()), nil
}

// settle records the processor's answer to the shopper's payment, with
// the webhook of a final outcome. The request and the reconciler share
// it. The store applies it only while the claim is held, so a payment
// settled twice counts once; either way the session as it now stands is
// returned.
func (s *Service) settle(ctx context.Context, claimed *Session, claim PaymentClaim, res Result, subs []SubStep) (*Session, error) {
	after := paid(claimed, claim, res, subs)
	st := PaymentSettlement{PaymentClaim: claim, Paid: after, StartStep: MarshalStep(after.StartStep())}
	if after.Phase == PhaseAuthorised || after.Phase == PhaseRejected {
		ev, err := s.event(after, CausePayment, s.now())
		if err != nil {
			return nil, Wrap(CodeInternal, "event", err)
		}
		st.Event = ev
	}
	// The processor has acted, so a store that refuses is tried again for
	// FinishRetry; if it still refuses, the payment stays PAYING and the
	// reconciler settles it.
	ctx = context.WithoutCancel(ctx)
	var sess *Session
	err := s.retryStore(func() (err error) {
		sess, err = s.store.SettlePayment(ctx, st)
		return err
	})
	if err != nil {
		return nil, Wrap(CodeOutcomeUnknown, "the payment's outcome could not be stored yet", err)
	}
	return sess, nil
}

// refuse counts a refused form; the last allowed try rejects the session.
func (s *Service) refuse(ctx context.Context, m *Merchant, sess *Session, errs FieldErrors, now time.Time) (PageView, error) {
	const detail = "too many invalid card entries"
	rejected := *sess
	rejected.Phase, rejected.Rejection, rejected.Detail = PhaseRejected, SubRisky, detail
	ev, err := s.event(&rejected, CausePayment, now)
	if err != nil {
		return PageView{}, Wrap(CodeInternal, "event", err)
	}
	after, err := s.store.RefuseTry(ctx, Try{SessionID: sess.ID, Merchant: sess.Merchant, OrderID: sess.OrderID,
		MaxTries: s.cfg.MaxTries, Now: now, RejectedStep: MarshalStep(rejected.StartStep()), Detail: detail, Event: ev})
	if err != nil {
		return PageView{}, storeError(err)
	}
	v := s.view(m, after, now)
	if v.State == PageForm {
		v.Errors = errs
	}
	return v, nil
}

// afterClaimError turns a lost claim (a double submit, a session that
// expired or was replaced meanwhile) into the page the session now calls
// for; a store failure stays an error.
// claimPayment claims the shopper's payment for this request. A claim
// the store could not make durable may not survive a failover, so nothing
// may rest on it: it is given up before the processor (if giving up is
// lost too, the reconciler finds the processor never got it) and the
// shopper is told to try again.
func (s *Service) claimPayment(ctx context.Context, claim PaymentClaim) (*Session, error) {
	claimed, err := s.store.ClaimPayment(ctx, claim)
	if errors.Is(err, ErrNotDurable) {
		if rerr := s.store.ReleasePayment(context.WithoutCancel(ctx), claim); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, Wrap(CodeStoreUnavailable, "the payment store is unavailable; retry later", err)
	}
	return claimed, err
}

func (s *Service) afterClaimError(ctx context.Context, m *Merchant, id string, err error) (PageView, error) {
	var refused *Error
	if !errors.As(err, &refused) || refused.Code == CodeStoreUnavailable {
		return PageView{}, storeError(err)
	}
	sess, err := s.Session(ctx, id)
	if err != nil {
		return PageView{}, err
	}
	return s.Page(m, id, sess), nil
}

// processor is the session's processor: the merchant's of that name
// where the merchant has its own, else the service's; a name no longer
// configured falls back to the default, as a session that named none.
// Its failed calls are reported with the merchant and processor named.
func (s *Service) processor(sess *Session) Processor {
	name, p := s.processorNamed(sess)
	if s.failures == nil || p == nil {
		return p
	}
	return reporting{Processor: p, merchant: sess.Merchant, name: name, report: s.failures}
}

func (s *Service) processorNamed(sess *Session) (string, Processor) {
	if mp, ok := s.merchants[sess.Merchant]; ok {
		if p := mp.ByName[sess.Processor]; p != nil {
			return sess.Processor, p
		}
		return mp.Default, mp.ByName[mp.Default]
	}
	if p := s.processors[sess.Processor]; p != nil {
		return sess.Processor, p
	}
	return s.fallback, s.processors[s.fallback]
}

// payReference is the processor reference of the shopper's payment: one
// per session, so a second submit or a crashed retry is the same payment.
func payReference(sess *Session) string { return PaymentReference(sess.ID) }

// PaymentReference is the processor reference of a session's payment;
// the ledger audit finds the payment's books with it.
func PaymentReference(sessionID string) string { return "pay-" + sessionID }
