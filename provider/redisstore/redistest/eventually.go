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
	if !Within(within, cond) {
		tb.Fatalf("timed out after %s waiting for %s", within, what)
	}
}

// Within waits until cond holds, polling, for at most within, and reports
// whether it did: for a test that has work to stop before it fails.
func Within(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
