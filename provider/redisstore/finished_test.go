package redisstore

import (
	"strconv"
	"testing"
)

// TestFinishedGUIDsAreBounded: the hint holds at most two generations;
// a guid added since the older was dropped is still held, and a
// forgotten one is not.
func TestFinishedGUIDsAreBounded(t *testing.T) {
	f := newFinishedGUIDs(4)
	for i := range 100 {
		f.add("m", "o", "g"+strconv.Itoa(i))
	}
	if n := len(f.cur) + len(f.old); n > 8 {
		t.Fatalf("%d guids held, want at most two generations of 4", n)
	}
	for i := 96; i < 100; i++ {
		if !f.has("m", "o", "g"+strconv.Itoa(i)) {
			t.Errorf("g%d, added last, is not held", i)
		}
	}
	if f.has("m", "o", "g0") {
		t.Error("g0, added first of 100, is still held")
	}
	if f.has("m", "o2", "g99") || f.has("m2", "o", "g99") {
		t.Error("g99 of another order or merchant is held")
	}
	f.forget("m", "o", "g99")
	if f.has("m", "o", "g99") {
		t.Error("g99 is held after it was forgotten")
	}
}
