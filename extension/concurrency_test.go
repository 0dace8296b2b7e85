package extension_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestOneGuidFiftyTimes: fifty goroutines send one guid at once while the
// first to arrive is held inside the processor. The processor is called
// once; the other 49 get 409 request_in_progress; every later send gets
// the first answer byte for byte.
func TestOneGuidFiftyTimes(t *testing.T) {
	tests := []struct {
		name, path, method string
		body               string
	}{
		{"purchase", "/purchase", "Capture", body(opBody("o-fifty-purchase", "g-fifty"))},
		{"refund", "/refund", "Refund", body(refundBody("o-fifty-refund", "g-fifty", "20.00"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGateway(t)
			state := "paid"
			if tt.name == "refund" {
				state = "purchased"
			}
			g.mustOrderIn(t, "o-fifty-"+tt.name, state)
			before := g.bank.Calls(tt.method)
			entered, release := g.bank.hold(t, tt.method)

			const n = 50
			answers := make(chan *response, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					<-start
					answers <- g.call(t, tt.path, tt.body)
				})
			}
			close(start)
			mustReachBank(t, entered, "the first request")
			// While the first is held, every other one is answered.
			for i := range n - 1 {
				var r *response
				select {
				case r = <-answers:
				case <-time.After(10 * time.Second):
					t.Fatalf("only %d of %d other requests were answered while the first was held", i, n-1)
				}
				if r.Status != http.StatusConflict || r.Header.Get("Retry-After") != "1" {
					t.Fatalf("a concurrent send: %s, Retry-After %q", r, r.Header.Get("Retry-After"))
				}
				if e := checkErrorBody(t, r); e.Errors[0].Code != "request_in_progress" || e.Errors[0].Field != "guid" {
					t.Fatalf("a concurrent send: %+v", e.Errors)
				}
			}
			release()
			wg.Wait()
			first := <-answers
			if first.Status != http.StatusOK || first.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("the held request: %s", first)
			}

			// Everyone retrying now gets the same bytes.
			replays := make(chan *response, n)
			for range n {
				wg.Go(func() { replays <- g.call(t, tt.path, tt.body) })
			}
			wg.Wait()
			close(replays)
			for r := range replays {
				if r.Status != http.StatusOK || !bytes.Equal(r.Body, first.Body) || r.Header.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("a retry after the first finished: %s\nfirst: %s", r, first)
				}
			}
			if calls := g.bank.Calls(tt.method) - before; calls != 1 {
				t.Fatalf("the processor's %s was called %d times for one guid", tt.method, calls)
			}
		})
	}
}

// TestOperationInProgress: while a purchase is at the processor, another
// guid's purchase, void or refund of the order is told to retry (409,
// not stored); afterwards the same guids get the machine's answer.
func TestOperationInProgress(t *testing.T) {
	g := mustGateway(t)
	g.mustOrderIn(t, "o-busy", "paid")
	entered, release := g.bank.hold(t, "Capture")
	held := make(chan *response, 1)
	go func() { held <- g.call(t, "/purchase", body(opBody("o-busy", "g-first"))) }()
	mustReachBank(t, entered, "the purchase")
	others := []struct{ path, body string }{
		{"/purchase", body(opBody("o-busy", "g-second"))},
		{"/void", body(opBody("o-busy", "g-void"))},
		{"/refund", body(refundBody("o-busy", "g-refund", "1.00"))},
	}
	for _, o := range others {
		r := g.call(t, o.path, o.body)
		if r.Status != http.StatusConflict || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("%s while a purchase runs: %s", o.path, r)
		}
		if e := checkErrorBody(t, r); e.Errors[0].Code != "operation_in_progress" {
			t.Fatalf("%s: %+v", o.path, e.Errors)
		}
	}
	// History still reads.
	if h, _ := g.mustHistory(t, "o-busy"); h.LastAction != "START" {
		t.Fatalf("history while a purchase runs: %+v", h)
	}
	release()
	if r := <-held; r.Status != http.StatusOK {
		t.Fatalf("the held purchase: %s", r)
	}
	// The 409s were not stored: the same guids now get the rules' answers.
	if r := g.call(t, "/purchase", body(opBody("o-busy", "g-second"))); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("the second purchase afterwards: %s", r)
	}
	g.mustOperate(t, "/refund", body(refundBody("o-busy", "g-refund", "1.00")), "RESOLVED")
}

// TestConcurrentRefunds: ten refunds of 20.00 on a 100.00 purchase, each
// with its own guid, at once: exactly five succeed, five are refused, and
// the balance ends at zero.
func TestConcurrentRefunds(t *testing.T) {
	g := mustGateway(t)
	g.mustOrderIn(t, "o-race", "purchased")
	var wg sync.WaitGroup
	answers := make(chan *response, 10)
	start := make(chan struct{})
	for i := range 10 {
		wg.Go(func() {
			<-start
			answers <- g.call(t, "/refund", body(refundBody("o-race", fmt.Sprint("g-race-", i), "20.00")))
		})
	}
	close(start)
	wg.Wait()
	close(answers)
	resolved, refused := 0, 0
	for r := range answers {
		switch r.Status {
		case http.StatusOK:
			var op operation
			mustJSON(t, r, &op)
			if op.Status != "RESOLVED" {
				t.Errorf("a refund: %s", r)
			}
			resolved++
		case http.StatusUnprocessableEntity:
			if e := checkErrorBody(t, r); e.Errors[0].Code != "amount_exceeds_balance" || e.Errors[0].Field != "amount" {
				t.Errorf("a refused refund: %+v", e.Errors)
			}
			refused++
		default:
			t.Errorf("a refund: %s", r)
		}
	}
	if resolved != 5 || refused != 5 {
		t.Fatalf("%d refunds succeeded and %d were refused, want 5 and 5", resolved, refused)
	}
	h, _ := g.mustHistory(t, "o-race")
	if h.Balance != "0.00" {
		t.Fatalf("balance %s, want 0.00", h.Balance)
	}
	refunds := 0
	for _, s := range h.Steps {
		if s.Type == "REFUND" {
			refunds++
		}
	}
	if refunds != 5 || g.bank.Calls("Refund") != 5 {
		t.Fatalf("%d refund steps, %d processor refunds; want 5 and 5", refunds, g.bank.Calls("Refund"))
	}
}
