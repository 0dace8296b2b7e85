package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Config is the service's settings section: its timings and limits,
// each with its variable (cmd/gateway reads them; settings.Load).
type Config struct {
	IdempotencyTTL time.Duration `env:"IDEMPOTENCY_TTL" min:"1ns" doc:"how long a guid's reply is kept"`
	// Lease is how long a request holds what it claimed (a guid, an
	// order, a reservation, the shopper's payment) before anyone else may
	// settle it. A request never calls the processor past its lease minus
	// FinishRetry, so when the lease is over it has either finished or
	// stopped.
	Lease time.Duration `env:"REQUEST_LEASE" min:"1ns" doc:"how long a request holds its claimed guid or hosted payment"`
	// Margin is added to the lease: past both, work that is not settled
	// is in doubt and the reconciler settles it by asking the processor.
	Margin            time.Duration `env:"RECONCILE_MARGIN" min:"1ns" doc:"added to the lease before the reconciler settles"`
	FinishRetry       time.Duration `env:"FINISH_RETRY" min:"1ns" doc:"how long the final write is retried after the processor acted"`
	SessionTTL        time.Duration `env:"SESSION_TTL" min:"1ns" doc:"how long a session can be paid"`
	CallTimeout       time.Duration `env:"PROCESSOR_TIMEOUT" min:"1ns" doc:"one processor call"`
	JobsInterval      time.Duration `env:"JOBS_INTERVAL" min:"1ns" doc:"how often expiries and pending payments are checked; a pass that claimed a whole batch is followed at once"`
	ReconcileInterval time.Duration `env:"RECONCILE_INTERVAL" min:"1ns" doc:"how often the reconciler looks; a pass that claimed a whole batch is followed at once"`
	MaxTries          int           // refused card forms before the session is RISKY
	Attempts          int           // processor attempts on transient failures
	Backoff           time.Duration // first wait between attempts; doubles
}

// DefaultConfig is the contract's defaults, the one place they are
// declared.
func DefaultConfig() Config {
	return Config{
		IdempotencyTTL:    24 * time.Hour,
		Lease:             30 * time.Second,
		Margin:            10 * time.Second,
		FinishRetry:       5 * time.Second,
		SessionTTL:        30 * time.Minute,
		MaxTries:          3,
		Attempts:          3,
		Backoff:           100 * time.Millisecond,
		CallTimeout:       8 * time.Second,
		JobsInterval:      time.Second,
		ReconcileInterval: 5 * time.Second,
	}
}

// Validate: the reconciler may settle a guid or a hosted payment once
// its request's lease has passed, so the lease must outlast the request:
// up to three processor calls and the retries of its final write.
func (c Config) Validate() error {
	need := 3*c.CallTimeout + c.FinishRetry
	if c.Lease > need {
		return nil
	}
	return fmt.Errorf("REQUEST_LEASE: %v must be longer than 3 × PROCESSOR_TIMEOUT (%v) + FINISH_RETRY (%v) = %v: "+
		"the lease must outlast a request's processor calls and its final write, "+
		"or the reconciler may settle a payment the request is still making",
		c.Lease, c.CallTimeout, c.FinishRetry, need)
}

// DefaultRetention is how long an order is kept after its latest change,
// and the sandbox bank its books: long enough for the latest refunds
// card schemes allow (about a year) and a margin.
const DefaultRetention = 400 * 24 * time.Hour

// Service runs the payment rules: it asks the store to claim and reserve,
// calls the processor, and asks the store to settle. It is the one place
// where the order of those steps is written.
type Service struct {
	store      Store
	processors map[string]Processor
	fallback   string
	merchants  map[string]MerchantProcessors
	cfg        Config
	now        func() time.Time
	events     EventEncoder
	render     Renderers
	failures   func(context.Context, ProcessorFailure) // nil: failed calls are not reported
}

// NewService returns a service; fallback names the processor used when a
// session asks for none.
func NewService(store Store, processors map[string]Processor, fallback string, cfg Config) *Service {
	return &Service{store: store, processors: processors, fallback: fallback, cfg: cfg, now: time.Now,
		render: Renderers{Start: plainReply, Operation: plainReply}}
}

// SetClock replaces the clock, for tests that move time.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Now is the time by the service's clock: what deadlines are held to.
func (s *Service) Now() time.Time { return s.now() }

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// MerchantProcessors are one merchant's processors by name, and the one
// its sessions use when targetProvider names none.
type MerchantProcessors struct {
	Default string
	ByName  map[string]Processor
}

// SetMerchantProcessors gives merchants processors of their own (their
// own settings: credentials, endpoints); a merchant not in m pays through
// the service's. Call it before the service takes requests.
func (s *Service) SetMerchantProcessors(m map[string]MerchantProcessors) { s.merchants = m }

// HasProcessor reports whether a targetProvider name is registered for
// the merchant.
func (s *Service) HasProcessor(merchant, name string) bool {
	if mp, ok := s.merchants[merchant]; ok {
		_, has := mp.ByName[name]
		return has
	}
	_, ok := s.processors[name]
	return ok
}

// Answer is what a call produced, for the HTTP adapter to render.
type Answer struct {
	Session       *Session // the session as Begin read it; nil for an operation carried out
	TransactionID string   // of this call's operation
	State         State    // of this call's operation
	Steps         []Step   // HISTORY
	Err           *Error   // a refusal, stored like a success
}

// Render turns an outcome into the bytes the client receives, so the
// service can store exactly those bytes for replay.
type Render func(Answer) Reply

// Renderers are the adapter's renderers of start-session and of the
// operations. The service keeps them because it also answers for
// requests that died: the reconciler stores, under their guid, the reply
// the request would have stored.
type Renderers struct {
	Start     Render
	Operation Render
}

// SetRenderers installs the adapter's renderers.
func (s *Service) SetRenderers(r Renderers) { s.render = r }

// plainReply is the renderer of a service without an adapter (tests of
// the store): the status only.
func plainReply(a Answer) Reply {
	if a.Err != nil {
		return Reply{Status: 422, Body: []byte(`{"error":"` + string(a.Err.Code) + `"}`)}
	}
	return Reply{Status: 200, Body: []byte(`{}`)}
}

// Request is what every Akinon call carries.
type Request struct {
	Merchant    *Merchant
	GUID        string
	OrderID     string
	Fingerprint string
}

// StartInput is a start-session request, validated.
type StartInput struct {
	Request
	Type      PaymentType
	Amount    Money
	Currency  string
	Locale    string
	ReturnURL string
	Processor string
}

// StartSession creates a payment session for an order. It reaches no
// processor, so its reply is stored in the same step that creates the
// session: one round trip, and nothing to settle if the request dies.
func (s *Service) StartSession(ctx context.Context, in StartInput) (Reply, error) {
	now := s.now()
	name := in.Processor
	if mp, ok := s.merchants[in.Merchant.ID]; ok && name == "" {
		name = mp.Default
	}
	if name == "" {
		name = s.fallback
	}
	begin := s.beginInput(in.Request, Ask{Action: ActionStart, GUID: in.GUID, Now: now})
	begin.Prepare = func(b *BeginInput) {
		sess := &Session{
			ID:            uuid.NewString(),
			TransactionID: operationID(in.Request),
			Merchant:      in.Merchant.ID,
			OrderID:       in.OrderID,
			StartGUID:     in.GUID,
			Type:          in.Type,
			Currency:      in.Currency,
			Locale:        in.Locale,
			ReturnURL:     in.ReturnURL,
			Processor:     name,
			Amount:        in.Amount,
			CreatedAt:     now,
			ExpiresAt:     now.Add(s.cfg.SessionTTL),
			Phase:         PhaseWaiting,
		}
		b.New = sess
		b.StartStep = MarshalStep(sess.StartStep())
		b.Reply = s.render.Start(Answer{Session: sess, TransactionID: sess.TransactionID, State: Waiting})
		b.Reply.Expires = now.Add(s.cfg.IdempotencyTTL)
	}
	return s.run(ctx, begin, s.render.Start, func(context.Context, Begun) (*Settlement, *Step, Answer, error) {
		return nil, nil, Answer{}, errors.New("start-session is stored by Begin")
	})
}

// Replayed answers a request for a guid this replica has seen finished,
// QA's replay, with its stored reply, before the request is checked: the
// same body was checked when it was first answered, and a finished
// guid's reply is returned byte for byte. ok is false for any other
// request, which then runs as any; a store that cannot answer is
// store_unavailable, as Begin would be.
func (s *Service) Replayed(ctx context.Context, r Request) (Reply, bool, error) {
	if r.GUID == "" || r.OrderID == "" {
		return Reply{}, false, nil
	}
	reply, ok, err := s.store.Replayed(ctx, Claim{Merchant: r.Merchant.ID, OrderID: r.OrderID, GUID: r.GUID,
		Fingerprint: r.Fingerprint}, s.cfg.IdempotencyTTL)
	if err != nil {
		return Reply{}, false, storeError(err)
	}
	reply.Replayed = ok
	return reply, ok, nil
}

// OperationInput is a purchase, void or refund request, validated.
type OperationInput struct {
	Request
	Amount   Money // refund amount; an AUTH's final amount (0: all)
	Currency string
}

// Purchase captures an AUTH or confirms a SALE.
func (s *Service) Purchase(ctx context.Context, in OperationInput) (Reply, error) {
	return s.operate(ctx, ActionPurchase, in)
}

// Void cancels an authorisation or reverses a purchase without refunds.
func (s *Service) Void(ctx context.Context, in OperationInput) (Reply, error) {
	return s.operate(ctx, ActionVoid, in)
}

// Refund gives back part or all of a purchase.
func (s *Service) Refund(ctx context.Context, in OperationInput) (Reply, error) {
	return s.operate(ctx, ActionRefund, in)
}

// History reads an order's steps. It is stored under its guid like any
// call, so a replay answers the same bytes, but it records no step.
func (s *Service) History(ctx context.Context, in Request, render Render) (Reply, error) {
	begin := s.beginInput(in, Ask{Action: ActionHistory, GUID: in.GUID, Now: s.now()})
	return s.run(ctx, begin, render, func(_ context.Context, b Begun) (*Settlement, *Step, Answer, error) {
		return nil, nil, Answer{Session: b.Session, Steps: HistorySteps(b.Session, b.Steps)}, nil
	})
}

func (s *Service) operate(ctx context.Context, action Action, in OperationInput) (Reply, error) {
	begin := s.beginInput(in.Request, Ask{Action: action, GUID: in.GUID, Amount: in.Amount, Currency: in.Currency, Now: s.now()})
	budget := s.budget()
	return s.run(ctx, begin, s.render.Operation, func(ctx context.Context, b Begun) (*Settlement, *Step, Answer, error) {
		p := s.processor(b.Session)
		req := operationRequest(action, in, b.Session)
		res, subs, err := s.call(ctx, budget, func(ctx context.Context) (Result, error) {
			return callOperation(ctx, p, action, req)
		}, func(ctx context.Context) (Inquiry, error) {
			return p.Inquire(ctx, InquiryRequest{Operation: processorOp(action), Reference: req.Reference, ProcessorID: req.ProcessorID})
		})
		if err != nil {
			return nil, nil, Answer{}, err
		}
		if undecided(res) {
			// Taken but not decided (an asynchronous refund or capture):
			// nothing is settled and the hold or reservation stays; the
			// reconciler asks again until the processor decides.
			return nil, nil, Answer{}, Wrap(CodeOutcomeUnknown,
				"the processor has not decided yet; retry with the same guid for the outcome",
				fmt.Errorf("%s answered %s", action, res.Outcome))
		}
		settle, step, out := s.outcome(action, in, b.Session, req.Amount, res, subs)
		return settle, step, out, nil
	})
}

// operationRequest is what the processor is asked for an operation on a
// session: the same for the request and for the reconciler that settles
// it after the request died.
func operationRequest(action Action, in OperationInput, sess *Session) OperationRequest {
	req := OperationRequest{Reference: reference(in.Request, action), ProcessorID: sess.ProcessorID, Currency: sess.Currency}
	switch action {
	case ActionPurchase:
		req.Amount = sess.Authorised
		if sess.Type == Auth && in.Amount > 0 {
			req.Amount = in.Amount
		}
	case ActionVoid:
		req.Amount = VoidAmount(sess)
	case ActionRefund:
		req.Amount, req.Currency = in.Amount, in.Currency
	}
	return req
}

// VoidAmount is what a void reverses: the captured amount not refunded
// once the payment is purchased, the authorisation before that.
func VoidAmount(sess *Session) Money {
	if sess.Phase == PhasePurchased || sess.Captured > 0 {
		return sess.Captured - sess.Refunded
	}
	return sess.Authorised
}

func callOperation(ctx context.Context, p Processor, action Action, req OperationRequest) (Result, error) {
	switch action {
	case ActionPurchase:
		return p.Capture(ctx, req)
	case ActionVoid:
		return p.Void(ctx, req)
	default:
		return p.Refund(ctx, req)
	}
}

func processorOp(action Action) Operation {
	switch action {
	case ActionPurchase:
		return OpCapture
	case ActionVoid:
		return OpVoid
	default:
		return OpRefund
	}
}

// outcome is what the processor's answer to an operation does: the
// settlement, the history step and the answer. The request and the
// reconciler share it, so an operation settled after a crash reads
// exactly as one settled by its request.
func (s *Service) outcome(action Action, in OperationInput, sess *Session, amount Money, res Result, subs []SubStep) (*Settlement, *Step, Answer) {
	settle := &Settlement{}
	approved := res.Outcome == Approved
	switch action {
	case ActionPurchase:
		if approved {
			settle.Phase, settle.Captured = PhasePurchased, amount
		}
	case ActionVoid:
		if approved {
			settle.Phase = PhaseVoided
		}
	case ActionRefund:
		settle.Release = in.Amount
		if approved {
			settle.Refunded = in.Amount
		}
	}
	st := stateOf(res)
	step := &Step{
		GUID: in.GUID, Type: action, Timestamp: FormatTime(s.now()),
		StatusCode: st.Status, SubStatusCode: st.SubStatus, StatusDetail: res.Detail,
		SubSteps: subs, SessionID: sess.ID, TransactionID: operationID(in.Request),
	}
	// The answer names the operation, not the session: the session as the
	// settlement leaves it is what finish.lua writes, read from the store.
	return settle, step, Answer{TransactionID: step.TransactionID, State: st}
}

func (s *Service) beginInput(r Request, ask Ask) BeginInput {
	return BeginInput{
		Claim: Claim{Merchant: r.Merchant.ID, OrderID: r.OrderID, GUID: r.GUID,
			Token: newToken(), Fingerprint: r.Fingerprint},
		Lease:    s.cfg.Lease,
		Deadline: ask.Now.Add(s.cfg.Lease + s.cfg.Margin),
		Ask:      ask,
		TTL:      s.cfg.IdempotencyTTL,
	}
}

// act runs a claimed request and says what to settle, which step to add
// and what to answer. An error means the outcome is not known: nothing
// is stored, and the claim stays for the reconciler.
type act func(ctx context.Context, b Begun) (*Settlement, *Step, Answer, error)

// run is the life of every Akinon call: Begin (replay, or claim and
// reserve), the work, then Finish (settle, record, store the reply).
func (s *Service) run(ctx context.Context, in BeginInput, render Render, work act) (Reply, error) {
	b, err := s.store.Begin(ctx, in)
	if errors.Is(err, ErrNotDurable) {
		// The claim may not survive a failover: nothing may rest on it.
		// Nothing reached the processor, so the answer is
		// store_unavailable and the claim is given up (if giving up is
		// lost too, the reconciler finds the processor never got it).
		if aerr := s.store.Abandon(context.WithoutCancel(ctx), in.Claim); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return Reply{}, Wrap(CodeStoreUnavailable, "the payment store is unavailable; retry later", err)
	}
	if err != nil {
		return Reply{}, storeError(err)
	}
	switch b.Kind {
	case Replayed:
		b.Reply.Replayed = true
		return b.Reply, nil
	case InFlight:
		return Reply{}, Errorf(CodeRequestInProgress, "guid", "a request with this guid is still in progress; retry later")
	case Reused:
		return Reply{}, Errorf(CodeIdempotencyReused, "guid", "this guid was already used for a different request")
	case Busy:
		e := Errorf(CodeOperationInProgress, "", "another operation on this order is in progress; retry later")
		e.Session = b.Session.View()
		return Reply{}, e
	case Refused:
		e := Refusal(b.Refusal)
		e.Session = b.Session.View()
		return s.finish(ctx, FinishInput{Claim: in.Claim, Reply: render(Answer{Session: b.Session, Err: e})}, false)
	case Claimed:
	default:
		return Reply{}, Wrap(CodeInternal, "unexpected store answer", fmt.Errorf("begun kind %d", b.Kind))
	}
	if in.Ask.Action == ActionStart {
		return b.Reply, nil // stored by Begin
	}
	settle, step, out, err := work(ctx, b)
	if err != nil {
		return Reply{}, err
	}
	fin := FinishInput{Claim: in.Claim, Settle: settle, Reply: render(out)}
	if step != nil {
		fin.Step = MarshalStep(*step)
	}
	return s.finish(ctx, fin, settle != nil)
}

// finish stores a request's outcome. When the processor acted (acted),
// the outcome exists only in this process's memory until it is stored,
// so a store that refuses is tried again for FinishRetry; if it still
// refuses, the answer is outcome_unknown, never store_unavailable (whose
// promise is that nothing reached the processor), and the claim, still in
// doubt, is settled by the reconciler.
func (s *Service) finish(ctx context.Context, in FinishInput, acted bool) (Reply, error) {
	in.Now = s.now()
	in.TTL = s.cfg.IdempotencyTTL
	in.Reply.Expires = in.Now.Add(in.TTL)
	// The processor may already have acted: storing the outcome must not
	// be cut short by a client that hung up.
	ctx = context.WithoutCancel(ctx)
	var stored Reply
	write := func() (err error) {
		stored, err = s.store.Finish(ctx, in)
		return err
	}
	var err error
	if acted {
		err = s.retryStore(write)
	} else {
		err = write()
	}
	if err != nil {
		if acted {
			return Reply{}, Wrap(CodeOutcomeUnknown,
				"the operation may have been carried out but its outcome could not be stored; retry with the same guid for its outcome", err)
		}
		return Reply{}, storeError(err)
	}
	return stored, nil
}

// retryStore runs a write of an outcome that exists only in memory until
// it succeeds, fails for another reason than an unavailable store, or
// FinishRetry runs out.
func (s *Service) retryStore(write func() error) error {
	err := write()
	give := time.Now().Add(s.cfg.FinishRetry)
	for wait := 20 * time.Millisecond; err != nil && errors.Is(err, ErrUnavailable) && time.Now().Add(wait).Before(give); wait = min(2*wait, time.Second) {
		time.Sleep(wait)
		err = write()
	}
	return err
}

// budget is when a request that starts now must stop calling the
// processor: its lease, less the time its final write may take.
func (s *Service) budget() time.Time {
	d := s.cfg.Lease - s.cfg.FinishRetry
	if d <= 0 {
		d = s.cfg.Lease / 2
	}
	return time.Now().Add(d)
}

// ErrInDoubt is the outcome of a processor call that got no answer, when
// asking the processor about it failed too: the operation may have been
// carried out. The reconciler settles it.
var ErrInDoubt = errors.New("the processor did not answer and could not be asked")

// call runs one processor operation, retrying transient failures with the
// same reference; every attempt is a sub-step. It never starts an attempt
// past budget. A call that got no answer (the processor may have acted)
// is settled at once by inquire; if that fails too, the call is in doubt:
// an Error with CodeOutcomeUnknown wrapping ErrInDoubt. inquire may be
// nil for a call that changes nothing (a status query).
func (s *Service) call(ctx context.Context, budget time.Time, op func(context.Context) (Result, error),
	inquire func(context.Context) (Inquiry, error)) (Result, []SubStep, error) {
	var subs []SubStep
	wait := s.cfg.Backoff
	attempts := max(s.cfg.Attempts, 1)
	for i := 1; ; i++ {
		left := time.Until(budget)
		if left <= 0 {
			subs = append(subs, SubStep{Timestamp: FormatTime(s.now()), StatusCode: "UNAVAILABLE", StatusDetail: "no time left to ask the processor"})
			return Result{Outcome: Declined, Code: "UNAVAILABLE", Detail: "processor unavailable"}, subs, nil
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(s.cfg.CallTimeout, left))
		res, err := op(cctx)
		cancel()
		at := FormatTime(s.now())
		switch {
		case err == nil:
			subs = append(subs, SubStep{Timestamp: at, StatusCode: res.Code, StatusDetail: res.Detail})
			return res, subs, nil
		case errors.Is(err, ErrTransient):
			subs = append(subs, SubStep{Timestamp: at, StatusCode: "TRANSIENT_ERROR", StatusDetail: "processor temporarily unavailable"})
			if i >= attempts || time.Until(budget) <= wait {
				return Result{Outcome: Declined, Code: "UNAVAILABLE", Detail: "processor unavailable after retries"}, subs, nil
			}
			// A cancelled request still finishes its retries: the money
			// path completes what it started, whoever stopped listening.
			time.Sleep(wait)
			wait *= 2
			continue
		}
		// No answer: the processor may have acted. Its error text is not
		// shown; it reaches the log through the wrapped error.
		subs = append(subs, SubStep{Timestamp: at, StatusCode: "NO_ANSWER", StatusDetail: "no answer from the processor"})
		if inquire == nil {
			return Result{}, subs, Wrap(CodeOutcomeUnknown, "the processor did not answer", err)
		}
		left = time.Until(budget)
		if left <= 0 {
			return Result{}, subs, Wrap(CodeOutcomeUnknown, "the operation may have been carried out; retry with the same guid for its outcome",
				fmt.Errorf("%w: %v; no time left to ask", ErrInDoubt, err))
		}
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(s.cfg.CallTimeout, left))
		inq, ierr := inquire(ictx)
		cancel()
		if ierr != nil {
			return Result{}, subs, Wrap(CodeOutcomeUnknown, "the operation may have been carried out; retry with the same guid for its outcome",
				fmt.Errorf("%w: %v; inquiry: %v", ErrInDoubt, err, ierr))
		}
		res, sub := Settled(inq, s.now())
		return res, append(subs, sub), nil
	}
}

// Settled reads an inquiry: the processor's own answer when it received
// the reference, a decline when it did not (and now never will); with
// the sub-step that says the outcome was settled by inquiry.
func Settled(inq Inquiry, at time.Time) (Result, SubStep) {
	res := inq.Result
	if !inq.Received {
		res = Result{Outcome: Declined, Code: "NOT_RECEIVED", Detail: "not received by the processor"}
	}
	return res, SubStep{Timestamp: FormatTime(at), StatusCode: res.Code, StatusDetail: "settled by inquiry: " + res.Detail}
}

// stateOf maps a processor result to the contract's state of an operation.
func stateOf(r Result) State {
	switch r.Outcome {
	case Approved:
		return Resolved
	case Pending, Challenge:
		return Waiting
	case Fraud:
		return Risky
	default:
		return ProcessingError
	}
}

func storeError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	// A write too few replicas acknowledged (a failover under way) is an
	// unavailable store too, not a fault of the gateway's.
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotDurable) {
		return Wrap(CodeStoreUnavailable, "the payment store is unavailable; retry later", err)
	}
	return Wrap(CodeInternal, "internal error", err)
}

// The namespace of the gateway's derived ids (uuid v5).
var idSpace = uuid.MustParse("6f1c0a52-6d0e-4c53-9a57-51f5f0a8e7b1")

// operationID is the transactionId of a call: derived from the guid so a
// retried call reports the same id.
func operationID(r Request) string {
	return uuid.NewSHA1(idSpace, []byte("txn\x00"+r.Merchant.ID+"\x00"+r.OrderID+"\x00"+r.GUID)).String()
}

// reference is what the processor receives for a call: derived from the
// guid, so a retry after a crash is the same operation at the bank.
func reference(r Request, a Action) string {
	return OperationReference(r.Merchant.ID, r.OrderID, a, r.GUID)
}

// OperationReference is the processor reference of an Akinon call; the
// ledger audit finds the bank's record of a history step with it.
func OperationReference(merchant, orderID string, a Action, guid string) string {
	return uuid.NewSHA1(idSpace, []byte("ref\x00"+merchant+"\x00"+orderID+"\x00"+string(a)+"\x00"+guid)).String()
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
