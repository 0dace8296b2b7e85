package provider

import (
	"encoding/json"
	"slices"
	"time"
)

// PaymentType is how Akinon wants the money taken.
type PaymentType string

const (
	// Sale charges at once; Akinon's purchase confirms it.
	Sale PaymentType = "SALE"
	// Auth holds the money; Akinon's purchase captures all or part of it.
	Auth PaymentType = "AUTH"
)

// Action is a step type. The first five are the contract's; the rest are
// the gateway's own movements, which never appear as history steps.
type Action string

const (
	ActionStart    Action = "START"
	ActionPurchase Action = "PURCHASE"
	ActionVoid     Action = "VOID"
	ActionRefund   Action = "REFUND"
	ActionHistory  Action = "HISTORY"
)

// Session is one payment attempt for an order: what Akinon asked for, what
// the shopper and the processor did, and the money it holds now. An order
// has at most one current session; a new start-session replaces an unpaid
// one.
type Session struct {
	ID            string
	TransactionID string
	Merchant      string
	OrderID       string
	StartGUID     string
	Type          PaymentType
	Currency      string
	Locale        string
	ReturnURL     string
	Processor     string // the registered processor that serves it
	Amount        Money  // asked at start-session
	CreatedAt     time.Time
	ExpiresAt     time.Time

	Phase     Phase
	Rejection SubStatus // RISKY or PROCESSING_ERROR once Phase is Rejected
	Detail    string    // the last status detail of the payment itself
	Tries     int       // refused card forms

	Authorised Money // charged or held by the shopper's payment, interest included
	Captured   Money // purchased
	Refunded   Money // settled refunds
	Reserved   Money // refunds under way, already counted against the balance

	// Reservations are the refunds under way, by guid; Op is the guid of a
	// purchase or void under way. A retried guid finds its own reservation
	// and is not counted twice.
	Reservations map[string]Money
	Op           string

	Installment int
	CardBIN     string
	CardLast4   string
	ProcessorID string // the processor's own payment id
	ChallengeID string // a pending 3-D Secure challenge
	ResolveAt   time.Time

	PayStage    string    // what PAYING is doing: StageCard or StageThreeDS
	PayUntil    time.Time // the PAYING holder's lease
	PayToken    string    // the PAYING holder's claim
	PayAmount   Money     // what the card stage asked of the processor
	PaySubSteps []SubStep // processor attempts of the shopper's payment
	StartIndex  int       // the START step's position in the history list
}

// State is the session's contract status, derived from its phase.
func (s *Session) State() State {
	switch s.Phase {
	case PhaseAuthorised, PhasePurchased, PhaseVoided:
		return Resolved
	case PhaseRejected:
		if s.Rejection == SubRisky {
			return Risky
		}
		return ProcessingError
	case PhaseExpired:
		return ProcessingError
	default:
		return Waiting
	}
}

// Balance is what the shopper has paid and not got back: purchased minus
// refunded, and nothing after a void.
func (s *Session) Balance() Money {
	if s.Phase == PhaseVoided {
		return 0
	}
	return s.Captured - s.Refunded
}

// EffectivePhase treats an unpaid session past its expiry (still waiting
// for the card, or for a 3-D Secure code nobody typed) as expired even
// before the expiry job has recorded it, so a late shopper cannot pay.
func (s *Session) EffectivePhase(now time.Time) Phase {
	if s.Expirable() && !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt) {
		return PhaseExpired
	}
	return s.Phase
}

// ExpirablePhases are the phases a session can still expire from: nobody
// has paid, and no payment is at the processor. The storage scripts read
// the same list.
var ExpirablePhases = []Phase{PhaseWaiting, PhaseThreeDS}

// Expirable reports whether the session can still expire.
func (s *Session) Expirable() bool { return slices.Contains(ExpirablePhases, s.Phase) }

// View is what an error body reports of a session.
type View struct {
	TransactionID string
	State         State
}

// View returns the session as the contract's error body shows it.
func (s *Session) View() *View {
	if s == nil {
		return nil
	}
	return &View{TransactionID: s.TransactionID, State: s.State()}
}

// Step is one entry of an order's history. SessionID and TransactionID are
// kept for filtering and for telling superseded sessions apart; the
// contract's history shape does not print them.
type Step struct {
	GUID          string    `json:"guid"`
	Type          Action    `json:"type"`
	Timestamp     string    `json:"timestamp"`
	StatusCode    Status    `json:"statusCode"`
	SubStatusCode SubStatus `json:"subStatusCode"`
	StatusDetail  string    `json:"statusDetail"`
	SubSteps      []SubStep `json:"subSteps"`
	SessionID     string    `json:"sessionId,omitempty"`
	TransactionID string    `json:"transactionId,omitempty"`
}

// SubStep is one attempt between the gateway and the processor.
type SubStep struct {
	Timestamp    string `json:"timestamp"`
	StatusCode   string `json:"statusCode"`
	StatusDetail string `json:"statusDetail"`
}

// MarshalStep encodes a step for storage.
func MarshalStep(s Step) string {
	if s.SubSteps == nil {
		s.SubSteps = []SubStep{}
	}
	b, _ := json.Marshal(s) // only strings: cannot fail
	return string(b)
}

// StartStep is the START step of a session as it stands now: the shopper's
// payment belongs to it, so its status follows the payment.
func (s *Session) StartStep() Step {
	st := s.State()
	// A purchase, void or refund is its own step; the START step keeps
	// saying the payment itself succeeded.
	if s.Phase == PhasePurchased || s.Phase == PhaseVoided {
		st = Resolved
	}
	detail := s.Detail
	if detail == "" {
		detail = "session started"
	}
	return Step{
		GUID:          s.StartGUID,
		Type:          ActionStart,
		Timestamp:     FormatTime(s.CreatedAt),
		StatusCode:    st.Status,
		SubStatusCode: st.SubStatus,
		StatusDetail:  detail,
		SubSteps:      s.PaySubSteps,
		SessionID:     s.ID,
		TransactionID: s.TransactionID,
	}
}
