package sandbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// clock is a time the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// bankFixture is a sandbox on the shared Redis under its own prefix, and
// what a second instance (a replica, a restart) needs to open the same
// books.
type bankFixture struct {
	rdb    *redis.Client
	prefix string
	clock  *clock
}

func (f *bankFixture) open(o sandbox.Options) *sandbox.Processor {
	o.Prefix, o.Now = f.prefix, f.clock.Now
	if o.PendingDelay == 0 {
		o.PendingDelay = 10 * time.Second
	}
	return sandbox.New(f.rdb, o)
}

func mustBank(tb testing.TB) *bankFixture {
	tb.Helper()
	return &bankFixture{rdb: redistest.Shared(tb).Client(tb), prefix: redistest.Prefix(tb),
		clock: &clock{t: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)}}
}

func mustSandbox(tb testing.TB) (*sandbox.Processor, *clock) {
	tb.Helper()
	f := mustBank(tb)
	return f.open(sandbox.Options{}), f.clock
}

func authorise(p *sandbox.Processor, ref, number string) (provider.Result, error) {
	return p.Authorise(context.Background(), provider.AuthoriseRequest{Reference: ref, Type: provider.Sale,
		Amount: 10000, Currency: "TRY", Installment: 1,
		Card: provider.Card{Holder: "A B", Number: number, ExpMonth: 12, ExpYear: 2030, CVC: "123"}})
}

func op(ref, processorID string) provider.OperationRequest {
	return provider.OperationRequest{Reference: ref, ProcessorID: processorID, Amount: 10000, Currency: "TRY"}
}

// TestTestCards is the contract's table of sandbox cards: the outcome of
// the payment, then of a capture and of a refund of it.
func TestTestCards(t *testing.T) {
	tests := []struct {
		card    string
		outcome provider.Outcome
		code    string
		capture provider.Outcome // "" when there is nothing to capture
		refund  provider.Outcome
	}{
		{sandbox.CardApproved, provider.Approved, "00", provider.Approved, provider.Approved},
		{sandbox.CardInstallments, provider.Approved, "00", provider.Approved, provider.Approved},
		{sandbox.CardThreeDS, provider.Challenge, "3DS", "", ""},
		{sandbox.CardDeclined, provider.Declined, "05", "", ""},
		{sandbox.CardInsufficient, provider.Declined, "51", "", ""},
		{sandbox.CardFraud, provider.Fraud, "59", "", ""},
		{sandbox.CardPendingOK, provider.Pending, "PENDING", "", ""},
		{sandbox.CardPendingRisky, provider.Pending, "PENDING", "", ""},
		{sandbox.CardCaptureFails, provider.Approved, "00", provider.Declined, provider.Approved},
		{sandbox.CardRefundFails, provider.Approved, "00", provider.Approved, provider.Declined},
		{"5105105105105100", provider.Approved, "00", provider.Approved, provider.Approved}, // any other Luhn-valid number
	}
	for _, tt := range tests {
		t.Run(tt.card, func(t *testing.T) {
			p, _ := mustSandbox(t)
			res, err := authorise(p, "pay-"+tt.card, tt.card)
			if err != nil {
				t.Fatalf("Authorise: %v", err)
			}
			if res.Outcome != tt.outcome || res.Code != tt.code || res.Detail == "" {
				t.Fatalf("Authorise = %+v, want %s/%s", res, tt.outcome, tt.code)
			}
			if tt.outcome == provider.Pending && res.ResolveAt.IsZero() {
				t.Fatalf("a pending payment without its resolve time: %+v", res)
			}
			if tt.capture == "" {
				return
			}
			if res.ProcessorID == "" {
				t.Fatalf("an approved payment without a processor id: %+v", res)
			}
			c, err := p.Capture(context.Background(), op("cap", res.ProcessorID))
			if err != nil || c.Outcome != tt.capture {
				t.Fatalf("Capture = %+v, %v; want %s", c, err, tt.capture)
			}
			if c.Outcome == provider.Approved {
				r, err := p.Refund(context.Background(), op("ref", res.ProcessorID))
				if err != nil || r.Outcome != tt.refund {
					t.Fatalf("Refund = %+v, %v; want %s", r, err, tt.refund)
				}
			}
			// Another payment with the card is voided before any capture.
			other, _ := authorise(p, "pay-2-"+tt.card, tt.card)
			v, err := p.Void(context.Background(), op("void", other.ProcessorID))
			if err != nil || v.Outcome != provider.Approved {
				t.Fatalf("Void = %+v, %v", v, err)
			}
		})
	}
}

func TestTransientTwiceThenApproved(t *testing.T) {
	p, _ := mustSandbox(t)
	for i := 1; i <= 2; i++ {
		if _, err := authorise(p, "pay-t", sandbox.CardTransient); !errors.Is(err, provider.ErrTransient) {
			t.Fatalf("attempt %d: error = %v, want ErrTransient", i, err)
		}
	}
	res, err := authorise(p, "pay-t", sandbox.CardTransient)
	if err != nil || res.Outcome != provider.Approved {
		t.Fatalf("attempt 3 = %+v, %v; want approved", res, err)
	}
	if n := p.Calls("Authorise"); n != 3 {
		t.Fatalf("Calls(Authorise) = %d, want 3", n)
	}
	if n := p.Effects("Authorise"); n != 1 {
		t.Fatalf("Effects(Authorise) = %d, want 1", n)
	}
	// Another reference has its own two failures.
	if _, err := authorise(p, "pay-u", sandbox.CardTransient); !errors.Is(err, provider.ErrTransient) {
		t.Fatalf("a new reference: error = %v, want ErrTransient", err)
	}
}

// TestSameReferenceSameOperation: a repeated reference is answered the
// same and moves money once, the way a bank keyed by reference does.
func TestSameReferenceSameOperation(t *testing.T) {
	p, _ := mustSandbox(t)
	first, _ := authorise(p, "pay-1", sandbox.CardApproved)
	again, _ := authorise(p, "pay-1", sandbox.CardDeclined) // the card cannot change the answer
	if again != first {
		t.Fatalf("repeat = %+v, first = %+v", again, first)
	}
	other, _ := authorise(p, "pay-2", sandbox.CardApproved)
	if other.ProcessorID == first.ProcessorID {
		t.Fatalf("two references share processor id %s", first.ProcessorID)
	}
	if c, err := p.Capture(context.Background(), op("capture-1", first.ProcessorID)); err != nil || c.Outcome != provider.Approved {
		t.Fatalf("Capture = %+v, %v", c, err)
	}
	for range 3 {
		if r, err := p.Refund(context.Background(), op("refund-1", first.ProcessorID)); err != nil || r.Outcome != provider.Approved {
			t.Fatalf("Refund = %+v, %v", r, err)
		}
	}
	if got := p.Effects("Refund"); got != 1 {
		t.Fatalf("Effects(Refund) = %d after one reference sent three times, want 1", got)
	}
	if got := p.Calls("Refund"); got != 3 {
		t.Fatalf("Calls(Refund) = %d, want 3", got)
	}
	if got := p.Effects("Authorise"); got != 2 {
		t.Fatalf("Effects(Authorise) = %d, want 2", got)
	}
}

func TestPendingResolvesAfterTheDelay(t *testing.T) {
	tests := []struct {
		card string
		want provider.Outcome
	}{
		{sandbox.CardPendingOK, provider.Approved},
		{sandbox.CardPendingRisky, provider.Fraud},
	}
	for _, tt := range tests {
		t.Run(tt.card, func(t *testing.T) {
			f := mustBank(t)
			p, c := f.open(sandbox.Options{}), f.clock
			res, _ := authorise(p, "pay-p", tt.card)
			if want := c.Now().Add(10 * time.Second); !res.ResolveAt.Equal(want) {
				t.Fatalf("ResolveAt = %v, want %v", res.ResolveAt, want)
			}
			ask := func() provider.Result {
				r, err := p.Status(context.Background(), op("status", res.ProcessorID))
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			if r := ask(); r.Outcome != provider.Pending {
				t.Fatalf("at once: %+v, want pending", r)
			}
			c.Add(10*time.Second - time.Millisecond)
			if r := ask(); r.Outcome != provider.Pending {
				t.Fatalf("a millisecond early: %+v, want pending", r)
			}
			c.Add(time.Millisecond)
			if r := ask(); r.Outcome != tt.want {
				t.Fatalf("after the delay: %+v, want %s", r, tt.want)
			}
			// Another sandbox (a replica, a restart) reads the same verdict from the id.
			other := f.open(sandbox.Options{PendingDelay: time.Hour})
			if r, _ := other.Status(context.Background(), op("status", res.ProcessorID)); r.Outcome != tt.want {
				t.Fatalf("another replica: %+v, want %s", r, tt.want)
			}
		})
	}
	p, _ := mustSandbox(t)
	if _, err := p.Status(context.Background(), op("s", "sbx-paXYZ-00")); err == nil {
		t.Fatalf("a malformed pending id must be an error")
	}
}

func TestInstallmentBINs(t *testing.T) {
	p, _ := mustSandbox(t)
	if !p.Installments("552879") {
		t.Errorf("the installment card's BIN must allow installments")
	}
	if p.Installments("424242") {
		t.Errorf("424242 must not allow installments")
	}
}
