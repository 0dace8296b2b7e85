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

// Config holds the service's timings and limits.
type Config struct {
	IdempotencyTTL time.Duration // how long a guid's reply is kept
	Lease          time.Duration // how long a claim lives if its request dies
	SessionTTL     time.Duration // how long a session can be paid
	MaxTries       int           // refused card forms before the session is RISKY
	Attempts       int           // processor attempts on transient failures
	Backoff        time.Duration // first wait between attempts; doubles
	CallTimeout    time.Duration // one processor call
}

// DefaultConfig is the contract's defaults.
func DefaultConfig() Config {
	return Config{
		IdempotencyTTL: 24 * time.Hour,
		Lease:          30 * time.Second,
		SessionTTL:     30 * time.Minute,
		MaxTries:       3,
		Attempts:       3,
		Backoff:        100 * time.Millisecond,
		CallTimeout:    20 * time.Second,
	}
}

// Service runs the payment rules: it asks the store to claim and reserve,
// calls the processor, and asks the store to settle. It is the one place
// where the order of those steps is written.
type Service struct {
	store      Store
	processors map[string]Processor
	fallback   string
	cfg        Config
	now        func() time.Time
	events     EventEncoder
}

// NewService returns a service; fallback names the processor used when a
// session asks for none.
func NewService(store Store, processors map[string]Processor, fallback string, cfg Config) *Service {
	return &Service{store: store, processors: processors, fallback: fallback, cfg: cfg, now: time.Now}
}

// SetClock replaces the clock, for tests that move time.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// HasProcessor reports whether a targetProvider name is registered.
func (s *Service) HasProcessor(name string) bool { _, ok := s.processors[name]; return ok }

// Answer is what a call produced, for the HTTP adapter to render.
type Answer struct {
	Session       *Session
	TransactionID string // of this call's operation
	State         State  // of this call's operation
	Steps         []Step // HISTORY
	Err           *Error // a refusal, stored like a success
}

// Render turns an outcome into the bytes the client receives, so the
// service can store exactly those bytes for replay.
type Render func(Answer) Reply

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

// StartSession creates a payment session for an order.
func (s *Service) StartSession(ctx context.Context, in StartInput, render Render) (Reply, error) {
	now := s.now()
	name := in.Processor
	if name == "" {
		name = s.fallback
	}
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
	begin := s.beginInput(in.Request, Ask{Action: ActionStart, GUID: in.GUID, Now: now})
	begin.New = sess
	begin.StartStep = MarshalStep(sess.StartStep())
	return s.run(ctx, begin, render, func(context.Context, Begun) (*Settlement, *Step, Answer) {
		return nil, nil, Answer{Session: sess, TransactionID: sess.TransactionID, State: Waiting}
	})
}

// OperationInput is a purchase, void or refund request, validated.
type OperationInput struct {
	Request
	Amount   Money // refund amount; an AUTH's final amount (0: all)
	Currency string
}

// Purchase captures an AUTH or confirms a SALE.
func (s *Service) Purchase(ctx context.Context, in OperationInput, render Render) (Reply, error) {
	return s.operate(ctx, ActionPurchase, in, render, func(ctx context.Context, p Processor, sess *Session) (Result, []SubStep, *Settlement) {
		amount := sess.Authorised
		if sess.Type == Auth && in.Amount > 0 {
			amount = in.Amount
		}
		res, subs := s.call(ctx, func(ctx context.Context) (Result, error) {
			return p.Capture(ctx, OperationRequest{Reference: reference(in.Request, ActionPurchase),
				ProcessorID: sess.ProcessorID, Amount: amount, Currency: sess.Currency})
		})
		settle := &Settlement{}
		if res.Outcome == Approved {
			settle.Phase, settle.Captured = PhasePurchased, amount
		}
		return res, subs, settle
	})
}

// Void cancels an authorisation or reverses a purchase without refunds.
func (s *Service) Void(ctx context.Context, in OperationInput, render Render) (Reply, error) {
	return s.operate(ctx, ActionVoid, in, render, func(ctx context.Context, p Processor, sess *Session) (Result, []SubStep, *Settlement) {
		res, subs := s.call(ctx, func(ctx context.Context) (Result, error) {
			return p.Void(ctx, OperationRequest{Reference: reference(in.Request, ActionVoid),
				ProcessorID: sess.ProcessorID, Amount: sess.Authorised, Currency: sess.Currency})
		})
		settle := &Settlement{}
		if res.Outcome == Approved {
			settle.Phase = PhaseVoided
		}
		return res, subs, settle
	})
}

// Refund gives back part or all of a purchase.
func (s *Service) Refund(ctx context.Context, in OperationInput, render Render) (Reply, error) {
	return s.operate(ctx, ActionRefund, in, render, func(ctx context.Context, p Processor, sess *Session) (Result, []SubStep, *Settlement) {
		res, subs := s.call(ctx, func(ctx context.Context) (Result, error) {
			return p.Refund(ctx, OperationRequest{Reference: reference(in.Request, ActionRefund),
				ProcessorID: sess.ProcessorID, Amount: in.Amount, Currency: in.Currency})
		})
		settle := &Settlement{Release: in.Amount}
		if res.Outcome == Approved {
			settle.Refunded = in.Amount
		}
		return res, subs, settle
	})
}

// History reads an order's steps. It is stored under its guid like any
// call, so a replay answers the same bytes, but it records no step.
func (s *Service) History(ctx context.Context, in Request, render Render) (Reply, error) {
	begin := s.beginInput(in, Ask{Action: ActionHistory, GUID: in.GUID, Now: s.now()})
	return s.run(ctx, begin, render, func(_ context.Context, b Begun) (*Settlement, *Step, Answer) {
		return nil, nil, Answer{Session: b.Session, Steps: HistorySteps(b.Session, b.Steps)}
	})
}

type operation func(ctx context.Context, p Processor, sess *Session) (Result, []SubStep, *Settlement)

func (s *Service) operate(ctx context.Context, action Action, in OperationInput, render Render, op operation) (Reply, error) {
	begin := s.beginInput(in.Request, Ask{Action: action, GUID: in.GUID, Amount: in.Amount, Currency: in.Currency, Now: s.now()})
	return s.run(ctx, begin, render, func(ctx context.Context, b Begun) (*Settlement, *Step, Answer) {
		p := s.processors[b.Session.Processor]
		if p == nil {
			p = s.processors[s.fallback]
		}
		res, subs, settle := op(ctx, p, b.Session)
		st := stateOf(res)
		step := &Step{
			GUID: in.GUID, Type: action, Timestamp: FormatTime(s.now()),
			StatusCode: st.Status, SubStatusCode: st.SubStatus, StatusDetail: res.Detail,
			SubSteps: subs, SessionID: b.Session.ID, TransactionID: operationID(in.Request),
		}
		after := *b.Session
		after.apply(settle)
		return settle, step, Answer{Session: &after, TransactionID: step.TransactionID, State: st}
	})
}

func (s *Service) beginInput(r Request, ask Ask) BeginInput {
	return BeginInput{
		Claim: Claim{Merchant: r.Merchant.ID, OrderID: r.OrderID, GUID: r.GUID,
			Token: newToken(), Fingerprint: r.Fingerprint},
		Lease: s.cfg.Lease,
		Ask:   ask,
	}
}

// act runs a claimed request and says what to settle, which step to add
// and what to answer.
type act func(ctx context.Context, b Begun) (*Settlement, *Step, Answer)

// run is the life of every Akinon call: Begin (replay, or claim and
// reserve), the work, then Finish (settle, record, store the reply).
func (s *Service) run(ctx context.Context, in BeginInput, render Render, work act) (Reply, error) {
	b, err := s.store.Begin(ctx, in)
	if err != nil {
		return Reply{}, storeError(err)
	}
	if b.Session != nil {
		// A session past its expiry reads as expired at once, in error
		// bodies and history alike, before the expiry job records it.
		b.Session.Phase = b.Session.EffectivePhase(in.Ask.Now)
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
		return s.finish(ctx, FinishInput{Claim: in.Claim, Reply: render(Answer{Session: b.Session, Err: e})})
	case Claimed:
	default:
		return Reply{}, Wrap(CodeInternal, "unexpected store answer", fmt.Errorf("begun kind %d", b.Kind))
	}
	settle, step, out := work(ctx, b)
	fin := FinishInput{Claim: in.Claim, Settle: settle, Reply: render(out)}
	if step != nil {
		fin.Step = MarshalStep(*step)
	}
	return s.finish(ctx, fin)
}

func (s *Service) finish(ctx context.Context, in FinishInput) (Reply, error) {
	in.Now = s.now()
	in.TTL = s.cfg.IdempotencyTTL
	in.Reply.Expires = in.Now.Add(in.TTL)
	// The processor may already have acted: storing the outcome must not
	// be cut short by a client that hung up.
	if err := s.store.Finish(context.WithoutCancel(ctx), in); err != nil {
		// The reply is not stored; the lease runs out and a retry with the
		// same guid settles it, the processor answering the same reference.
		return Reply{}, storeError(err)
	}
	return in.Reply, nil
}

// call runs one processor operation, retrying transient failures with the
// same reference; every attempt is a sub-step.
func (s *Service) call(ctx context.Context, op func(context.Context) (Result, error)) (Result, []SubStep) {
	var subs []SubStep
	wait := s.cfg.Backoff
	attempts := max(s.cfg.Attempts, 1)
	for i := 1; ; i++ {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CallTimeout)
		res, err := op(cctx)
		cancel()
		at := FormatTime(s.now())
		if err == nil {
			subs = append(subs, SubStep{Timestamp: at, StatusCode: res.Code, StatusDetail: res.Detail})
			return res, subs
		}
		// The processor's error text is not shown: only a fixed detail, so
		// nothing it echoed can leak through history.
		if !errors.Is(err, ErrTransient) {
			subs = append(subs, SubStep{Timestamp: at, StatusCode: "ERROR", StatusDetail: "processor error"})
			return Result{Outcome: Declined, Code: "ERROR", Detail: "processor error"}, subs
		}
		subs = append(subs, SubStep{Timestamp: at, StatusCode: "TRANSIENT_ERROR", StatusDetail: "processor temporarily unavailable"})
		if i >= attempts {
			return Result{Outcome: Declined, Code: "UNAVAILABLE", Detail: "processor unavailable after retries"}, subs
		}
		// A cancelled request still finishes its retries: the money path
		// completes what it started, whoever stopped listening.
		time.Sleep(wait)
		wait *= 2
	}
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

// apply mirrors a settlement on a copy of the session, to answer with the
// state the store now holds.
func (sess *Session) apply(st *Settlement) {
	if st == nil {
		return
	}
	if st.Phase != "" {
		sess.Phase = st.Phase
	}
	sess.Captured += st.Captured
	sess.Refunded += st.Refunded
	sess.Reserved -= st.Release
	sess.Op = ""
}

func storeError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, ErrUnavailable) {
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
	return uuid.NewSHA1(idSpace, []byte("ref\x00"+r.Merchant.ID+"\x00"+r.OrderID+"\x00"+string(a)+"\x00"+r.GUID)).String()
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
