package benchjobs_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// BENCH_JOBS_N items are seeded through the store's real scripts (the
// service's own calls), then one replica's passes are timed until all are
// done: the figure is items per second.

const defaultJobs = 5000

// BenchmarkExpiryJob expires unpaid sessions whose time ran out: each a
// transition to EXPIRED with its step and its webhook event.
func BenchmarkExpiryJob(b *testing.B) {
	n := items(b, "BENCH_JOBS_N", defaultJobs)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r := mustRig(b, nowhere())
		// Sessions started long enough ago to have expired by now.
		r.svc.SetClock(func() time.Time { return time.Now().Add(-2 * provider.DefaultConfig().SessionTTL) })
		r.startSessions(b, fmt.Sprintf("exp%d", i), n)
		r.svc.SetClock(time.Now)
		r.timeJob(b, n, func() (int, error) {
			rep, err := r.svc.RunJobsOnce(context.Background())
			return rep.Expired, err
		})
	}
}

// BenchmarkPendingJob resolves PENDING payments: each asks the bank for
// its outcome, then moves the session to AUTHORISED with its event.
func BenchmarkPendingJob(b *testing.B) {
	n := items(b, "BENCH_JOBS_N", defaultJobs)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r := mustRig(b, nowhere())
		prefix := fmt.Sprintf("pend%d", i)
		r.startSessions(b, prefix, n)
		ctx := context.Background()
		parallel(b, n, 16, func(k int) error {
			order := fmt.Sprintf("%s-%d", prefix, k)
			sess, err := r.session(order)
			if err != nil {
				return err
			}
			_, err = r.svc.Pay(ctx, r.merch, sess, provider.CardForm{CardHolder: "Ada Lovelace", CardNumber: sandbox.CardPendingOK,
				Expiry: "12/39", CVC: "123", Installment: "1"})
			if err != nil {
				return fmt.Errorf("pay %s: %w", order, err)
			}
			return nil
		})
		time.Sleep(10 * time.Millisecond) // the bank's PendingDelay is 1 ms: every outcome is ready
		r.timeJob(b, n, func() (int, error) {
			rep, err := r.svc.RunJobsOnce(ctx)
			return rep.Resolved, err
		})
	}
}

// BenchmarkReconciler settles payments whose request died at the bank:
// each claimed (PAYING) past its deadline; half reached the bank, which
// approved them (settled from the bank's record, with the webhook), half
// never did (the bank closes the reference; the session is released).
func BenchmarkReconciler(b *testing.B) {
	n := items(b, "BENCH_JOBS_N", defaultJobs)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r := mustRig(b, nowhere())
		prefix := fmt.Sprintf("rec%d", i)
		r.startSessions(b, prefix, n)
		ctx := context.Background()
		// Claimed as the service claims (deadline: lease and margin after),
		// long enough ago for every one to be in doubt now.
		cfg := provider.DefaultConfig()
		at := time.Now().Add(-2 * (cfg.Lease + cfg.Margin))
		parallel(b, n, 16, func(k int) error {
			order := fmt.Sprintf("%s-%d", prefix, k)
			sess, err := r.session(order)
			if err != nil {
				return err
			}
			_, err = r.store.ClaimPayment(ctx, provider.PaymentClaim{SessionID: sess.ID, Merchant: r.merch.ID, OrderID: order,
				Stage: provider.StageCard, Token: "tok-" + order, Lease: cfg.Lease, Deadline: at.Add(cfg.Lease + cfg.Margin), Now: at,
				Amount: sess.Amount, Installment: 1, CardBIN: "424242", CardLast4: "4242"})
			if err != nil {
				return fmt.Errorf("claim the payment of %s: %w", order, err)
			}
			if k%2 == 1 {
				return nil // the process died before it reached the bank
			}
			res, err := r.bank.Authorise(ctx, provider.AuthoriseRequest{Reference: provider.PaymentReference(sess.ID), Type: provider.Sale,
				Amount: sess.Amount, Currency: "TRY", Installment: 1,
				Card: provider.Card{Number: sandbox.CardApproved, ExpMonth: 12, ExpYear: 2039, CVC: "123"}})
			if err != nil || res.Outcome != provider.Approved {
				return fmt.Errorf("the bank's authorisation of %s: %+v, %v", order, res, err)
			}
			return nil
		})
		var settled, notReceived atomic.Int64
		r.timeJob(b, n, func() (int, error) {
			rep, err := r.svc.ReconcileOnce(ctx)
			settled.Add(int64(rep.Settled))
			notReceived.Add(int64(rep.NotReceived))
			return rep.Settled + rep.NotReceived, err
		})
		if settled.Load() != int64((n+1)/2) || notReceived.Load() != int64(n/2) {
			b.Errorf("settled %d from the bank's record and %d not received, want %d and %d",
				settled.Load(), notReceived.Load(), (n+1)/2, n/2)
		}
	}
}

// timeJob times one replica's passes of a job until all n items are done
// and reports the rate and the CPU per item, so every job's figures are
// measured the same way.
func (r *rig) timeJob(b *testing.B, n int, pass func() (int, error)) {
	b.Helper()
	self, server := r.cpu(b)
	b.StartTimer()
	took := drain(b, n, 1, 10*time.Minute, pass)
	b.StopTimer()
	b.ReportMetric(float64(n)/took.Seconds(), "items/s")
	r.reportCPU(b, n, self, server)
}
