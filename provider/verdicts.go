package provider

import (
	"slices"
	"time"
)

// The rules each storage script applies atomically, written once in Go.
// The Redis adapter's scripts mirror them, and a differential test runs
// both on the same sessions, so the two cannot drift apart.

// ClaimVerdict says whether the shopper's payment (stage card or 3ds) may
// be taken to the processor now for session id sid: "" if so, else the
// refusal. A payment already at the processor is never taken again,
// however long it lasts: the reconciler settles it.
//
// The holder's own claim sent again (its reply was lost and the client
// re-sent it) is allowed: it is the same claim.
func ClaimVerdict(s *Session, sid, stage, token string, now time.Time) Code {
	if s == nil || s.ID != sid {
		return CodeSessionUnknown
	}
	if s.Phase == PhasePaying && s.PayToken == token && s.PayStage == stage {
		return ""
	}
	phase := s.EffectivePhase(now)
	if phase == PhaseExpired {
		return CodeSessionExpired
	}
	want := PhaseWaiting
	if stage == StageThreeDS {
		want = PhaseThreeDS
	}
	if phase != want {
		return CodePaymentInProgress
	}
	return ""
}

// HoldsPayment says whether the holder of token still holds the payment
// it claimed, so its outcome may be recorded.
func HoldsPayment(s *Session, token string) bool {
	return s != nil && s.Phase == PhasePaying && s.PayToken == token
}

// TryCounts says whether a refused card form counts against session sid:
// only while that session waits for a card.
func TryCounts(s *Session, sid string, now time.Time) bool {
	return s != nil && s.ID == sid && s.EffectivePhase(now) == PhaseWaiting
}

// Settles says whether a finished request settles its reservation: only
// while its guid is running (not settled by someone else) and holds one.
func Settles(s *Session, guid string, settled bool) bool {
	if settled || s == nil || guid == "" {
		return false
	}
	_, reserved := s.Reservations[guid]
	return s.Op == guid || reserved
}

// TransitionApplies says whether a change the gateway makes by itself
// applies to session sid: it is still the order's session, in a phase the
// change starts from, and past its expiry when the change is an expiry.
func TransitionApplies(s *Session, sid string, from []Phase, mustExpire bool, now time.Time) bool {
	if s == nil || s.ID != sid || !slices.Contains(from, s.Phase) {
		return false
	}
	return !mustExpire || !now.Before(s.ExpiresAt)
}
