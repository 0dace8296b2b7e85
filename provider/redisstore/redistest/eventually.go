package redistest

import (
	"testing"
	"time"
)

// Eventually waits until cond holds, polling, and fails the test naming
// what it waited for if it does not within the deadline: the one way the
// project's tests wait, never a bare sleep.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
