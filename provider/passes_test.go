package provider

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestPassesRunAgainAtOnceWhileMoreIsDue: a pass that claimed a whole
// batch is followed by the next at once; one that did not waits for the
// tick, here an hour away.
func TestPassesRunAgainAtOnceWhileMoreIsDue(t *testing.T) {
	for _, tt := range []struct {
		name  string
		full  int64 // passes that claim a whole batch before one that does not
		wants int64
	}{
		{"a backlog of three batches", 3, 4},
		{"nothing more due", 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var calls atomic.Int64
			done := make(chan struct{})
			go func() {
				defer close(done)
				passes(ctx, time.Hour, func() bool { return calls.Add(1) <= tt.full })
			}()
			deadline := time.Now().Add(10 * time.Second)
			for calls.Load() < tt.wants {
				if time.Now().After(deadline) {
					t.Fatalf("%d passes within 10 s, want %d without waiting for the interval", calls.Load(), tt.wants)
				}
				time.Sleep(time.Millisecond)
			}
			cancel()
			<-done
			if got := calls.Load(); got != tt.wants {
				t.Fatalf("%d passes, want %d: the loop went on after a pass that claimed less than a batch", got, tt.wants)
			}
		})
	}
}

// TestPassesStopWithTheirContext: a backlog that never ends still stops
// when its context does.
func TestPassesStopWithTheirContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		passes(ctx, time.Hour, func() bool {
			if calls.Add(1) == 5 {
				cancel()
			}
			return true
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not stop within 10 s of its context ending")
	}
	if got := calls.Load(); got != 5 {
		t.Fatalf("%d passes, want 5: none after the context ended", got)
	}
}
