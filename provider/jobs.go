package provider

import (
	"context"
	"errors"
	"time"
)

// JobReport says what one pass of the background jobs did, for logs and
// tests.
type JobReport struct {
	Resolved int  // PENDING payments that got their outcome
	Expired  int  // unpaid sessions that expired
	Waiting  int  // PENDING payments the processor still holds
	More     bool // a schedule gave a whole batch: more may be due now
}

func (r *JobReport) add(o JobReport) {
	r.Resolved += o.Resolved
	r.Expired += o.Expired
	r.Waiting += o.Waiting
}

// jobBatch is how many entries one pass claims from a schedule.
const jobBatch = 50

// RunJobs resolves PENDING payments and expires unpaid sessions as they
// fall due, until ctx ends. Several replicas may run it: each entry is
// claimed by one at a time.
func (s *Service) RunJobs(ctx context.Context, interval time.Duration, onError func(error)) {
	passes(ctx, interval, func() bool {
		rep, err := s.RunJobsOnce(ctx)
		if err != nil && onError != nil && ctx.Err() == nil {
			onError(err)
		}
		return rep.More
	})
}

// full: a claim that took a whole batch may have left more due.
func full(claimed, batch int) bool { return claimed == batch }

// passes runs pass until ctx ends: again at once while a pass says more
// may be due (it claimed a whole batch), else at the next tick. A backlog
// (after an outage, a burst of expiries) drains at the pass's own speed,
// not a batch per interval. A pass's claims lease what it took, so the
// next pass claims only what is left and the loop ends with the backlog.
func passes(ctx context.Context, interval time.Duration, pass func() (more bool)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if pass() && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunJobsOnce does one pass over both schedules.
func (s *Service) RunJobsOnce(ctx context.Context) (JobReport, error) {
	var rep JobReport
	err1 := s.pass(ctx, SchedulePending, &rep, &rep.Resolved, s.resolveOne)
	err2 := s.pass(ctx, ScheduleExpiry, &rep, &rep.Expired, s.expireOne)
	return rep, errors.Join(err1, err2)
}

// entryWork decides what becomes of one claimed entry of a schedule.
type entryWork func(ctx context.Context, d Due, sess *Session, err error, now time.Time, w *worked) error

// pass claims a batch of a schedule's due entries and works on them, at
// most batchWorkers at a time; the changes the work renders are applied
// as they come, and applied counts those the store applied.
func (s *Service) pass(ctx context.Context, sched Schedule, rep *JobReport, applied *int, work entryWork) error {
	now := s.now()
	due, err := s.store.ClaimDue(ctx, sched, now, s.cfg.Lease, jobBatch)
	if err != nil {
		return storeError(err)
	}
	if len(due) == 0 {
		return nil
	}
	rep.More = rep.More || full(len(due), jobBatch)
	changes := s.changes(ctx)
	err = eachClaimed(s.claimedOrders(ctx, due), func(c claimed, w *worked) error {
		return work(ctx, c.Due, c.sess, c.err, now, w)
	}, func(w worked) { rep.add(w.JobReport); changes.add(w.changes) })
	n, err2 := changes.wait()
	*applied += n
	return errors.Join(err, err2)
}

// worked is what the work on one claimed entry gives its pass: its
// counts, and the change it rendered for the pass to apply with others.
type worked struct {
	JobReport
	changes []Transition
}

func (s *Service) resolveOne(ctx context.Context, d Due, sess *Session, err error, now time.Time, w *worked) error {
	if err != nil || sess.ID != d.SessionID || sess.Phase != PhasePending {
		return s.drop(ctx, SchedulePending, d, err)
	}
	p := s.processor(sess)
	res, subs, err := s.call(ctx, s.budget(), func(ctx context.Context) (Result, error) {
		return p.Status(ctx, OperationRequest{Reference: payReference(sess), ProcessorID: sess.ProcessorID,
			Amount: sess.Authorised, Currency: sess.Currency})
	}, nil)
	if err != nil || res.Code == "UNAVAILABLE" {
		// No verdict: ask again after the lease.
		return errors.Join(err, s.store.Reschedule(ctx, SchedulePending, d, now.Add(s.cfg.Lease)))
	}
	if res.Outcome == Pending {
		w.Waiting++
		at := res.ResolveAt
		if !at.After(now) {
			at = now.Add(s.cfg.Backoff * 10)
		}
		return s.store.Reschedule(ctx, SchedulePending, d, at)
	}
	tr := Transition{Schedule: SchedulePending, Due: d, From: []Phase{PhasePending}, Now: s.now(),
		Phase: PhaseAuthorised, Detail: res.Detail, SubSteps: append(sess.PaySubSteps, subs...)}
	switch res.Outcome {
	case Approved:
	case Fraud:
		tr.Phase, tr.Rejection = PhaseRejected, SubRisky
	default:
		tr.Phase, tr.Rejection = PhaseRejected, SubProcessingError
	}
	return s.prepare(sess, tr, CausePendingResolved, w)
}

func (s *Service) expireOne(ctx context.Context, d Due, sess *Session, err error, now time.Time, w *worked) error {
	if err == nil && sess.ID == d.SessionID && sess.Phase == PhasePaying {
		// At the processor: the payment may yet come back asking for
		// a 3-D Secure code, which must still expire. Look again once
		// it is settled.
		return s.store.Reschedule(ctx, ScheduleExpiry, d, now.Add(s.cfg.Lease+s.cfg.Margin))
	}
	if err != nil || sess.ID != d.SessionID || !sess.Expirable() {
		// Paid or replaced: nothing expires.
		return s.drop(ctx, ScheduleExpiry, d, err)
	}
	if now.Before(sess.ExpiresAt) {
		return s.store.Reschedule(ctx, ScheduleExpiry, d, sess.ExpiresAt)
	}
	tr := Transition{Schedule: ScheduleExpiry, Due: d, From: []Phase{PhaseWaiting, PhaseThreeDS}, Expired: true,
		Now: now, Phase: PhaseExpired, Detail: expiredUnpaid, SubSteps: sess.PaySubSteps}
	return s.prepare(sess, tr, CauseExpired, w)
}

// claimed is a schedule entry with its order's session as read when the
// pass claimed it (or the read's error).
type claimed struct {
	Due
	sess *Session
	err  error
}

// claimedOrders reads the orders of a pass's entries in one round trip
// rather than one each. A read made as the pass began decides nothing a
// later one would not: an expiry acts only on a session already past its
// expiry, which no request can move any more; a PENDING payment's read
// was always a bank call older than its transition; and each transition
// checks the session's id and phase again as it applies.
func (s *Service) claimedOrders(ctx context.Context, due []Due) []claimed {
	if len(due) == 0 {
		return nil
	}
	keys := make([]OrderKey, len(due))
	for i, d := range due {
		keys[i] = OrderKey{Merchant: d.Merchant, OrderID: d.OrderID}
	}
	sessions, errs := s.store.Orders(ctx, keys)
	out := make([]claimed, len(due))
	for i, d := range due {
		out[i] = claimed{Due: d, sess: sessions[i], err: errs[i]}
	}
	return out
}

// prepare completes a change with what it makes of the session (its
// START step, its event), rendered by the entry's worker so that the
// pass only sends it.
func (s *Service) prepare(sess *Session, tr Transition, cause string, w *worked) error {
	after := *sess
	after.Phase, after.Rejection, after.Detail, after.PaySubSteps = tr.Phase, tr.Rejection, tr.Detail, tr.SubSteps
	tr.StartStep = MarshalStep(after.StartStep())
	ev, err := s.event(&after, cause, tr.Now)
	if err != nil {
		return Wrap(CodeInternal, "event", err)
	}
	tr.Event = ev
	w.changes = append(w.changes, tr)
	return nil
}

// drop forgets a schedule entry whose session moved on; a read error is
// kept as the error, and the entry comes back after its lease.
func (s *Service) drop(ctx context.Context, sched Schedule, d Due, readErr error) error {
	if readErr != nil && !errors.Is(readErr, ErrNotFound) {
		return storeError(readErr)
	}
	return s.store.Unschedule(ctx, sched, d)
}
