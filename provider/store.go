package provider

import (
	"context"
	"time"
)

// Store keeps sessions, their history and the guid records. Each method is
// one atomic step on the store, and the service never needs more than two
// for an Akinon call: Begin before the processor, Finish after it.
type Store interface {
	// Records are the operator's reads and actions.
	Records

	// Begin replays a finished guid, or claims it with a lease and, in the
	// same atomic step, reads the order's session, applies the state
	// machine and reserves what the action needs.
	Begin(ctx context.Context, in BeginInput) (Begun, error)
	// Replayed returns the stored reply of a guid this replica has seen
	// finished when c's fingerprint is the one it was answered for (ok).
	// For any other guid it answers ok false, at no cost when it has not
	// seen the guid finished. ttl is IDEMPOTENCY_TTL.
	Replayed(ctx context.Context, c Claim, ttl time.Duration) (r Reply, ok bool, err error)
	// Abandon gives up a claim its request could not make durable, before
	// anything reached the processor: the guid, its hold or reservation
	// and its doubt entry go, so a retry of the guid runs afresh.
	Abandon(ctx context.Context, in Claim) error
	// Finish settles the reservation of a claimed guid, records its step,
	// stores its reply and drops its in-doubt entry, atomically. It
	// returns the reply stored under the guid: this one, or the one an
	// earlier settlement stored (the reconciler got there first).
	Finish(ctx context.Context, in FinishInput) (Reply, error)

	// Session reads a session by its id (the hosted page's only handle).
	Session(ctx context.Context, sessionID string) (*Session, error)
	// ClaimPayment moves a session into PAYING for one holder, so a second
	// submit of the card form cannot reach the processor.
	ClaimPayment(ctx context.Context, in PaymentClaim) (*Session, error)
	// ReleasePayment gives up a payment claim its request could not make
	// durable, before the processor saw anything: the session is back at
	// the form the claim found it at, if the claim is still the holder's.
	ReleasePayment(ctx context.Context, in PaymentClaim) error
	// SettlePayment records the processor's answer to the holder's claim.
	SettlePayment(ctx context.Context, in PaymentSettlement) (*Session, error)
	// RefuseTry counts a refused card form; the last allowed one rejects
	// the session as RISKY.
	RefuseTry(ctx context.Context, in Try) (*Session, error)

	// Order reads an order's current session.
	Order(ctx context.Context, merchant, orderID string) (*Session, error)
	// Orders reads several orders' sessions in one round trip; each has
	// its session or its error (ErrNotFound when there is none).
	Orders(ctx context.Context, keys []OrderKey) ([]*Session, []error)
	// ClaimDue hands out up to limit entries of a schedule that are due
	// at now, each to one caller for lease.
	ClaimDue(ctx context.Context, sched Schedule, now time.Time, lease time.Duration, limit int) ([]Due, error)
	// Reschedule moves an entry to a later time; Unschedule drops it.
	Reschedule(ctx context.Context, sched Schedule, d Due, at time.Time) error
	Unschedule(ctx context.Context, sched Schedule, d Due) error
	// ClaimDoubts hands out up to limit in-doubt entries past their
	// deadline at now, each to one caller for lease.
	ClaimDoubts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Doubt, error)
	// DoubtfulOperation reads what the reconciler needs to settle an
	// operation in doubt: its guid record and the order's session.
	// ErrNotFound when the guid is no longer running.
	DoubtfulOperation(ctx context.Context, d Doubt) (Running, *Session, error)
	// DropDoubt forgets an entry whose work was settled some other way,
	// if it is still the one claimed.
	DropDoubt(ctx context.Context, d Doubt) error
	// PostponeDoubt puts a claimed entry back, due at at: the processor
	// has not decided yet.
	PostponeDoubt(ctx context.Context, d Doubt, at time.Time) error
	// Doubts lists every in-doubt entry, with its deadline and, for an
	// operation, its action.
	Doubts(ctx context.Context) ([]Doubt, error)

	// Transitions applies changes nobody asked for (a pending payment
	// resolved, a session expired), each with its event, if its session
	// is still the one and in a phase the change starts from, and drops
	// the schedule entry that led to it; each is atomic on its own, and
	// all are sent in one round trip. It reports, for each, whether the
	// change was applied and its error.
	Transitions(ctx context.Context, ins []Transition) (applied []bool, errs []error)
}

// Schedule names a set of sessions waiting for a time.
type Schedule string

const (
	// ScheduleExpiry holds unpaid sessions by expiry time.
	ScheduleExpiry Schedule = "expiry"
	// SchedulePending holds PENDING payments by the time to ask again.
	SchedulePending Schedule = "pending"
)

// OrderKey names one merchant's order.
type OrderKey struct {
	Merchant string
	OrderID  string
}

// Due is one session a schedule handed out.
type Due struct {
	Merchant  string
	OrderID   string
	SessionID string
}

// Transition is a change of phase the gateway makes by itself.
type Transition struct {
	Schedule  Schedule
	Due       Due
	From      []Phase // the phases the change may start from
	Expired   bool    // the session must be past its expiry
	Now       time.Time
	Phase     Phase
	Rejection SubStatus
	Detail    string
	SubSteps  []SubStep
	StartStep string
	Event     *Outgoing
}

// DoubtKind says what an in-doubt entry stands for.
type DoubtKind string

const (
	// DoubtOperation is a purchase, void or refund whose request claimed
	// its guid (and reserved what it needs) but has not stored a reply.
	DoubtOperation DoubtKind = "op"
	// DoubtPayment is the shopper's payment at the processor (PAYING).
	DoubtPayment DoubtKind = "pay"
)

// Doubt is work that reached, or may have reached, the processor and is
// not settled yet. Every such piece of work has one from the step that
// starts it to the step that settles it, written atomically with both;
// past Deadline the reconciler settles it by asking the processor.
type Doubt struct {
	Kind     DoubtKind
	Merchant string
	OrderID  string
	ID       string // the guid of an operation, the session id of a payment
	Deadline time.Time
	Action   Action // for an operation, when read by Doubts
	// Claim is the score ClaimDoubts set: the proof that the entry is
	// still the one claimed (a new claim of the same payment, its 3-D
	// Secure stage, puts it back with its own deadline).
	Claim int64
}

// Running is a guid claimed by a request that has not stored a reply.
type Running struct {
	Token       string // the claim's holder: the reconciler settles in its name
	Fingerprint string
	Action      Action
	Amount      Money // what the request asked: a refund's amount, an AUTH capture's (0: all)
}

// Claim names a claimed guid and its lease holder.
type Claim struct {
	Merchant    string
	OrderID     string
	GUID        string
	Token       string // a random value only the claiming request knows
	Fingerprint string // the request's identity (idempotency.Fingerprint)
}

// BeginInput is an Akinon call arriving at the store.
type BeginInput struct {
	Claim
	// Lease is how long the claim of a call that reaches no processor
	// (history, a refusal) lives if its request dies. The claim of a
	// purchase, void or refund lives until it is settled, and is in doubt
	// after Deadline.
	Lease    time.Duration
	Deadline time.Time
	Ask      Ask
	// For START: the session to create, its first step, and the reply,
	// stored at once (start-session reaches no processor). Prepare, when
	// set, fills them: the store calls it when it is about to write them,
	// so a replay it expects builds no session it would not store.
	New       *Session
	StartStep string
	Reply     Reply
	Prepare   func(*BeginInput)
	TTL       time.Duration // how long a guid's record is kept (IDEMPOTENCY_TTL)
}

// BegunKind says what Begin found.
type BegunKind int

const (
	Claimed  BegunKind = iota + 1 // the request runs; its reservation is made
	Replayed                      // a finished request: Reply holds its stored answer
	InFlight                      // the same guid is running elsewhere
	Reused                        // the guid was used for another request
	Refused                       // a rule said no; the guid is claimed so the refusal is stored
	Busy                          // another operation holds the order; nothing was claimed
)

// Begun is the store's answer to Begin.
type Begun struct {
	Kind    BegunKind
	Reply   Reply // Replayed; a start-session Claimed: the reply it stored
	Refusal Code  // Refused
	// Session is the session after the reservation, nil when the order
	// has none; one past its expiry and unpaid reads as EXPIRED, as the
	// store's rules decided it at Ask.Now.
	Session *Session
	Steps   []Step // the order's history, for HISTORY
}

// Settlement is what the processor's answer does to a reservation. It is
// applied only while the reservation is still held, so a request settled
// twice (its lease ran out and a retry settled it) counts once.
type Settlement struct {
	Phase    Phase // "" keeps the phase
	Captured Money // added
	Refunded Money // added
	Release  Money // reserved refund amount given back
}

// FinishInput closes a claimed request.
type FinishInput struct {
	Claim
	Settle *Settlement // nil when nothing was reserved
	Step   string      // a history step to append, "" for none
	Reply  Reply
	TTL    time.Duration
	Now    time.Time
}

// Reply is an HTTP answer as stored for replay: the domain does not read
// it, it only keeps it byte for byte.
type Reply struct {
	Status   int
	Body     []byte
	Replayed bool
	Expires  time.Time // when the guid stops being remembered
}

// PaymentClaim asks to start the shopper's payment (Stage "card") or to
// answer its 3-D Secure challenge (Stage "3ds"). What the payment asks
// of the processor is kept with the claim, so the reconciler can settle
// it if the request dies.
type PaymentClaim struct {
	SessionID string
	Merchant  string
	OrderID   string
	Stage     string
	Token     string
	Lease     time.Duration
	Deadline  time.Time // in doubt after this
	Now       time.Time

	// For the card stage: the amount asked (interest included), the
	// installment, and the card's BIN and last four.
	Amount      Money
	Installment int
	CardBIN     string
	CardLast4   string
}

// Payment stages.
const (
	StageCard    = "card"
	StageThreeDS = "3ds"
)

// PaymentSettlement is the processor's answer to the shopper's payment.
// Paid is the session as the answer leaves it; the store writes its
// payment fields only while the claim still holds.
type PaymentSettlement struct {
	PaymentClaim
	Paid      *Session
	StartStep string    // Paid's START step
	Event     *Outgoing // the webhook of a final outcome, or nil
}

// Try is a refused card form.
type Try struct {
	SessionID string
	Merchant  string
	OrderID   string
	MaxTries  int
	Now       time.Time
	// RejectedStep is the START step if this try is the last allowed
	// one, and Event the webhook it sends then.
	RejectedStep string
	Detail       string
	Event        *Outgoing
}
