package provider

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is a budget of Count repeats per Per, refilling evenly; the zero
// Limit is no budget at all (nothing is counted).
type Limit struct {
	Count int
	Per   time.Duration
}

// IsZero says the limit counts nothing.
func (l Limit) IsZero() bool { return l.Count == 0 }

// UnmarshalText reads "N/duration" (20/10m: twenty per ten minutes, the
// budget refilling evenly); "0" is no limit.
func (l *Limit) UnmarshalText(text []byte) error {
	v := string(text)
	if v == "0" {
		*l = Limit{}
		return nil
	}
	n, per, ok := strings.Cut(v, "/")
	count, err1 := strconv.Atoi(n)
	d, err2 := time.ParseDuration(per)
	if !ok || err1 != nil || err2 != nil || count < 1 || d < time.Second {
		return fmt.Errorf("%q is not a limit such as 20/10m (count/period of at least 1s), or 0 for none", v)
	}
	*l = Limit{Count: count, Per: d}
	return nil
}

// String writes a limit as UnmarshalText reads it.
func (l Limit) String() string {
	if l.IsZero() {
		return "0"
	}
	d := l.Per
	per := d.String()
	switch {
	case d%time.Hour == 0:
		per = strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		per = strconv.Itoa(int(d/time.Minute)) + "m"
	case d%time.Second == 0:
		per = strconv.Itoa(int(d/time.Second)) + "s"
	}
	return strconv.Itoa(l.Count) + "/" + per
}

// Budgets count, alike for every replica, what clients repeat: the
// throttles' port, which the Redis store offers. A wait of 0 is "one was
// left"; a refusal always has a wait above 0.
type Budgets interface {
	// Spend takes one from key's budget, or reports how long until one
	// is back when none was left.
	Spend(ctx context.Context, key string, l Limit) (wait time.Duration, err error)
	// Left reports how long until key's budget has one left, spending
	// nothing.
	Left(ctx context.Context, key string, l Limit) (wait time.Duration, err error)
}
