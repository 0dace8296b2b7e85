package provider

// HistoryFilter narrows the steps history returns; empty fields match all.
type HistoryFilter struct {
	Type          Action
	TransactionID string
	Status        Status
	SubStatus     SubStatus
}

// Match reports whether a step passes the filter.
func (f HistoryFilter) Match(s Step) bool {
	return (f.Type == "" || s.Type == f.Type) &&
		(f.TransactionID == "" || s.TransactionID == f.TransactionID) &&
		(f.Status == "" || s.StatusCode == f.Status) &&
		(f.SubStatus == "" || s.SubStatusCode == f.SubStatus)
}

// Filter returns the steps that match.
func (f HistoryFilter) Filter(steps []Step) []Step {
	out := make([]Step, 0, len(steps))
	for _, s := range steps {
		if f.Match(s) {
			out = append(out, s)
		}
	}
	return out
}

// superseded is the detail of a START step whose session was replaced by
// a newer one before it was paid.
const superseded = "session replaced by a newer session before payment"

// expiredUnpaid is the detail of a session that expired before payment.
const expiredUnpaid = "session expired unpaid"

// HistorySteps is an order's history as Akinon reads it. A session that a
// newer start-session replaced can never be paid, so its START step, left
// waiting in the list, is read as rejected; so is the current session's
// once it is past its expiry, before the expiry job rewrites the step.
func HistorySteps(current *Session, steps []Step) []Step {
	out := make([]Step, len(steps))
	for i, s := range steps {
		if s.Type == ActionStart && current != nil && s.StatusCode == StatusPending {
			switch {
			case s.SessionID != current.ID:
				s.StatusCode, s.SubStatusCode, s.StatusDetail = StatusRejected, SubProcessingError, superseded
			case current.Phase == PhaseExpired:
				s.StatusCode, s.SubStatusCode, s.StatusDetail = StatusRejected, SubProcessingError, expiredUnpaid
			}
		}
		out[i] = s
	}
	return out
}

// LastStep is the step the top of the history reports (lastAction,
// status, substatus).
func LastStep(steps []Step) (Step, bool) {
	if len(steps) == 0 {
		return Step{}, false
	}
	return steps[len(steps)-1], true
}
