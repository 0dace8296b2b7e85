package provider

import (
	"sort"
	"strings"
	"time"
)

// Phase is where a session stands. It is finer than the contract's status:
// several phases read as PENDING/PAYMENT_WAITING from outside.
type Phase string

const (
	PhaseNone       Phase = ""           // the order has no session
	PhaseWaiting    Phase = "WAITING"    // started; the shopper has not paid
	PhasePaying     Phase = "PAYING"     // the shopper's payment is at the processor
	PhaseThreeDS    Phase = "THREEDS"    // the processor asked for a 3-D Secure code
	PhasePending    Phase = "PENDING"    // the processor will decide later
	PhaseAuthorised Phase = "AUTHORISED" // paid by the shopper; Akinon has not purchased yet
	PhasePurchased  Phase = "PURCHASED"  // captured (AUTH) or confirmed (SALE)
	PhaseVoided     Phase = "VOIDED"     // cancelled; only history is left
	PhaseRejected   Phase = "REJECTED"   // the payment failed
	PhaseExpired    Phase = "EXPIRED"    // nobody paid in time
)

// Phases lists every phase, PhaseNone first, for tables and tests.
var Phases = []Phase{PhaseNone, PhaseWaiting, PhasePaying, PhaseThreeDS, PhasePending,
	PhaseAuthorised, PhasePurchased, PhaseVoided, PhaseRejected, PhaseExpired}

// Actions lists the calls the state machine decides, for its table.
var Actions = []Action{ActionStart, ActionPurchase, ActionVoid, ActionRefund, ActionHistory}

// Guard is a check on amounts that an allowed action still has to pass.
// Guards run where the reservation is made, atomically with it.
type Guard string

const (
	GuardNone             Guard = ""
	GuardWithinAuthorised Guard = "within_authorised" // an AUTH capture ≤ authorised
	GuardWithinBalance    Guard = "within_balance"    // refund ≤ captured − refunded − reserved, same currency
	GuardNoRefunds        Guard = "no_refunds"        // a purchase can be voided only before any refund
)

// Verdict is the rule for one (phase, action) pair: refused with Code, or
// allowed subject to Guard.
type Verdict struct {
	Code  Code
	Guard Guard
}

func allow(g Guard) Verdict { return Verdict{Guard: g} }
func refuse(c Code) Verdict { return Verdict{Code: c} }

// rules is the state machine of Akinon's four mutating calls: every phase
// and what each call may do from it. It is the one place these rules are
// written; the Redis adapter receives it as data, so the check it makes
// atomically is this table.
var rules = map[Action]map[Phase]Verdict{
	ActionStart: {
		PhaseNone:       allow(GuardNone),
		PhaseWaiting:    allow(GuardNone), // the unpaid session is replaced
		PhasePaying:     refuse(CodePaymentInProgress),
		PhaseThreeDS:    refuse(CodePaymentInProgress),
		PhasePending:    refuse(CodePaymentInProgress),
		PhaseAuthorised: refuse(CodeOrderAlreadyPaid),
		PhasePurchased:  refuse(CodeOrderAlreadyPaid),
		PhaseVoided:     refuse(CodeSessionVoided),
		PhaseRejected:   allow(GuardNone), // a new attempt after a failed one
		PhaseExpired:    allow(GuardNone),
	},
	ActionPurchase: {
		PhaseNone:       refuse(CodeOrderNotFound),
		PhaseWaiting:    refuse(CodeSessionNotPaid),
		PhasePaying:     refuse(CodeSessionNotPaid),
		PhaseThreeDS:    refuse(CodeSessionNotPaid),
		PhasePending:    refuse(CodeSessionNotPaid),
		PhaseAuthorised: allow(GuardWithinAuthorised),
		PhasePurchased:  refuse(CodeAlreadyPurchased),
		PhaseVoided:     refuse(CodeSessionVoided),
		PhaseRejected:   refuse(CodeSessionRejected),
		PhaseExpired:    refuse(CodeSessionExpired),
	},
	ActionVoid: {
		PhaseNone:       refuse(CodeOrderNotFound),
		PhaseWaiting:    refuse(CodeSessionNotPaid),
		PhasePaying:     refuse(CodeSessionNotPaid),
		PhaseThreeDS:    refuse(CodeSessionNotPaid),
		PhasePending:    refuse(CodeSessionNotPaid),
		PhaseAuthorised: allow(GuardNone),
		PhasePurchased:  allow(GuardNoRefunds),
		PhaseVoided:     refuse(CodeSessionVoided),
		PhaseRejected:   refuse(CodeSessionRejected),
		PhaseExpired:    refuse(CodeSessionExpired),
	},
	ActionRefund: {
		PhaseNone:       refuse(CodeOrderNotFound),
		PhaseWaiting:    refuse(CodeNotPurchased),
		PhasePaying:     refuse(CodeNotPurchased),
		PhaseThreeDS:    refuse(CodeNotPurchased),
		PhasePending:    refuse(CodeNotPurchased),
		PhaseAuthorised: refuse(CodeNotPurchased),
		PhasePurchased:  allow(GuardWithinBalance),
		PhaseVoided:     refuse(CodeSessionVoided),
		PhaseRejected:   refuse(CodeSessionRejected),
		PhaseExpired:    refuse(CodeSessionExpired),
	},
	ActionHistory: {
		PhaseNone: refuse(CodeOrderNotFound),
	},
}

// Rule returns the verdict for a pair. History is allowed from every phase
// of an existing session.
func Rule(a Action, p Phase) Verdict {
	if v, ok := rules[a][p]; ok {
		return v
	}
	if a == ActionHistory {
		return allow(GuardNone)
	}
	return refuse(CodeInternal)
}

// RuleTable encodes the column of one action as "PHASE=code:guard;…" for
// the storage adapter, which applies it inside its atomic script. The
// empty phase is written as NONE.
func RuleTable(a Action) string {
	if t, ok := ruleTables[a]; ok {
		return t
	}
	return encodeRules(a)
}

// ruleTables are the encoded columns, computed once.
var ruleTables = func() map[Action]string {
	m := map[Action]string{}
	for a := range rules {
		m[a] = encodeRules(a)
	}
	return m
}()

func encodeRules(a Action) string {
	parts := make([]string, 0, len(Phases))
	for _, p := range Phases {
		v := Rule(a, p)
		name := string(p)
		if p == PhaseNone {
			name = "NONE"
		}
		parts = append(parts, name+"="+string(v.Code)+":"+string(v.Guard))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// Ask is a request to act on an order's session.
type Ask struct {
	Action   Action
	GUID     string
	Amount   Money // refund amount, or an AUTH's final amount (0: all)
	Currency string
	Now      time.Time
}
