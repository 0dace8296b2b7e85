package sandbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// TestBooksOutliveTheProcess: a second sandbox on the same books (a
// restarted gateway, another replica) answers every reference the first
// acted on with the first answer, moves no money again, and answers an
// inquiry about each.
func TestBooksOutliveTheProcess(t *testing.T) {
	f := mustBank(t)
	first := f.open(sandbox.Options{})
	pay, _ := authorise(first, "pay-restart", sandbox.CardApproved)
	capture, _ := first.Capture(context.Background(), op("cap-restart", pay.ProcessorID))

	second := f.open(sandbox.Options{})
	if again, _ := authorise(second, "pay-restart", sandbox.CardDeclined); again != pay {
		t.Fatalf("after a restart the payment reads %+v, want %+v", again, pay)
	}
	if again, _ := second.Capture(context.Background(), op("cap-restart", pay.ProcessorID)); again != capture {
		t.Fatalf("after a restart the capture reads %+v, want %+v", again, capture)
	}
	if n := second.Effects("Capture"); n != 1 {
		t.Fatalf("captures acted on: %d, want 1", n)
	}
	inq, err := second.Inquire(context.Background(), provider.InquiryRequest{Operation: provider.OpCapture, Reference: "cap-restart", ProcessorID: pay.ProcessorID})
	if err != nil || !inq.Received || inq.Result.Outcome != provider.Approved || inq.Amount != 10000 {
		t.Fatalf("inquiry after a restart = %+v, %v; want the approved capture of 100.00", inq, err)
	}
	acct, err := second.Account(context.Background(), "pay-restart")
	if err != nil || acct.Authorised != 10000 || acct.Captured != 10000 || len(acct.Entries) != 2 {
		t.Fatalf("account = %+v, %v", acct, err)
	}
}

// TestInquiryClosesAnUnknownReference: "not received" is final. A request
// with that reference arriving afterwards (late on the wire) is declined
// and moves no money, so a gateway that settled it as not moved is right.
func TestInquiryClosesAnUnknownReference(t *testing.T) {
	p, _ := mustSandbox(t)
	pay, _ := authorise(p, "pay-close", sandbox.CardApproved)
	p.Capture(context.Background(), op("cap-close", pay.ProcessorID))
	inq, err := p.Inquire(context.Background(), provider.InquiryRequest{Operation: provider.OpRefund, Reference: "late-refund", ProcessorID: pay.ProcessorID})
	if err != nil || inq.Received {
		t.Fatalf("inquiry about an unknown reference = %+v, %v; want not received", inq, err)
	}
	late, err := p.Refund(context.Background(), op("late-refund", pay.ProcessorID))
	if err != nil || late.Outcome != provider.Declined {
		t.Fatalf("the late refund = %+v, %v; want declined", late, err)
	}
	if n := p.Effects("Refund"); n != 0 {
		t.Fatalf("refunds acted on: %d, want 0", n)
	}
	if again, _ := p.Inquire(context.Background(), provider.InquiryRequest{Operation: provider.OpRefund, Reference: "late-refund", ProcessorID: pay.ProcessorID}); again.Received {
		t.Fatalf("a closed reference reads as received: %+v", again)
	}
	// The payment itself was received: its inquiry says so.
	if inq, _ := p.Inquire(context.Background(), provider.InquiryRequest{Operation: provider.OpAuthorise, Reference: "pay-close"}); !inq.Received || inq.Result != pay {
		t.Fatalf("inquiry about the payment = %+v, want %+v", inq, pay)
	}
}

// TestTheBankKeepsItsBooksStraight: like an acquirer, the sandbox refuses
// an operation beyond what the payment holds, so a gateway that asked for
// the wrong amount is found out.
func TestTheBankKeepsItsBooksStraight(t *testing.T) {
	type call struct {
		op     string // capture, refund, void
		amount provider.Money
		want   provider.Outcome
	}
	tests := []struct {
		name  string
		calls []call
	}{
		{"capture more than authorised", []call{{"capture", 10001, provider.Declined}, {"capture", 10000, provider.Approved}}},
		{"partial captures add up", []call{{"capture", 6000, provider.Approved}, {"capture", 4001, provider.Declined}, {"capture", 4000, provider.Approved}}},
		{"refund within what is captured", []call{{"capture", 5000, provider.Approved}, {"refund", 5001, provider.Declined}, {"refund", 3000, provider.Approved}, {"refund", 2001, provider.Declined}, {"refund", 2000, provider.Approved}}},
		{"refund before capture", []call{{"refund", 100, provider.Declined}}},
		{"void an authorisation: all of it", []call{{"void", 5000, provider.Declined}, {"void", 10000, provider.Approved}}},
		{"void after a partial capture: the captured amount", []call{{"capture", 5000, provider.Approved}, {"void", 10000, provider.Declined}, {"void", 5000, provider.Approved}}},
		{"nothing after a void", []call{{"void", 10000, provider.Approved}, {"capture", 100, provider.Declined}, {"refund", 100, provider.Declined}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := mustSandbox(t)
			pay, _ := authorise(p, "pay-books", sandbox.CardApproved)
			for i, c := range tt.calls {
				req := provider.OperationRequest{Reference: tt.name + string(rune('a'+i)), ProcessorID: pay.ProcessorID, Amount: c.amount, Currency: "TRY"}
				var res provider.Result
				var err error
				switch c.op {
				case "capture":
					res, err = p.Capture(context.Background(), req)
				case "refund":
					res, err = p.Refund(context.Background(), req)
				case "void":
					res, err = p.Void(context.Background(), req)
				}
				if err != nil || res.Outcome != c.want {
					t.Fatalf("call %d, %s %s: %+v, %v; want %s", i+1, c.op, c.amount, res, err, c.want)
				}
			}
		})
	}
}

// TestNoAnswerThenInquiry: the bank acts, but its answer comes later than
// the caller waits. The caller cannot know what happened from the error;
// the inquiry tells it.
func TestNoAnswerThenInquiry(t *testing.T) {
	f := mustBank(t)
	p := f.open(sandbox.Options{Latency: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Authorise(ctx, provider.AuthoriseRequest{Reference: "pay-slow", Type: provider.Sale, Amount: 2500, Currency: "TRY",
		Card: provider.Card{Number: sandbox.CardApproved}})
	if err == nil || errors.Is(err, provider.ErrTransient) {
		t.Fatalf("error = %v, want one that says nothing of the outcome", err)
	}
	inq, err := p.Inquire(context.Background(), provider.InquiryRequest{Operation: provider.OpAuthorise, Reference: "pay-slow"})
	if err != nil || !inq.Received || inq.Result.Outcome != provider.Approved || inq.Amount != 2500 {
		t.Fatalf("inquiry = %+v, %v; want the approved payment of 25.00", inq, err)
	}
}

// TestOneReferenceRacedActsOnce: twenty callers send one reference at once
// (replicas, retries); the bank acts once and all read the same answer.
func TestOneReferenceRacedActsOnce(t *testing.T) {
	p, _ := mustSandbox(t)
	pay, _ := authorise(p, "pay-race", sandbox.CardApproved)
	p.Capture(context.Background(), op("cap-race", pay.ProcessorID))
	var wg sync.WaitGroup
	results := make([]provider.Result, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = p.Refund(context.Background(), provider.OperationRequest{Reference: "refund-race", ProcessorID: pay.ProcessorID, Amount: 1000, Currency: "TRY"})
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r != results[0] || r.Outcome != provider.Approved {
			t.Fatalf("answers differ or decline: %+v vs %+v", r, results[0])
		}
	}
	if acct, _ := p.Account(context.Background(), "pay-race"); acct.Refunded != 1000 {
		t.Fatalf("refunded %s at the bank, want 10.00", acct.Refunded)
	}
}

// TestBooksAreBounded: every key of the bank's books expires after the
// retention; nothing grows in the process.
func TestBooksAreBounded(t *testing.T) {
	f := mustBank(t)
	p := f.open(sandbox.Options{Retention: time.Hour})
	pay, _ := authorise(p, "pay-ttl", sandbox.CardApproved)
	p.Capture(context.Background(), op("cap-ttl", pay.ProcessorID))
	p.Inquire(context.Background(), provider.InquiryRequest{Operation: provider.OpRefund, Reference: "nothing", ProcessorID: pay.ProcessorID})
	authorise(p, "pay-ttl-transient", sandbox.CardTransient)
	keys, err := f.rdb.Keys(context.Background(), f.prefix+":*").Result()
	if err != nil || len(keys) < 5 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	for _, k := range keys {
		ttl := f.rdb.PTTL(context.Background(), k).Val()
		if ttl <= 0 || ttl > time.Hour {
			t.Errorf("%s: ttl %v, want within the retention of 1h", k, ttl)
		}
	}
}
