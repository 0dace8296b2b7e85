package main

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p95 of 1..100", ms(hundred...), 95, 95 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p50 of four", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of four", ms(1, 2, 3, 4), 99, 4 * time.Millisecond},
	}
	for _, tc := range cases {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("%s: p%d = %s, want %s", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestStepStatsObserve(t *testing.T) {
	s := newStepStats()
	for _, x := range []*commerce.Exchange{
		{Endpoint: commerce.EndpointStartSession, Status: http.StatusOK, Duration: 3 * time.Millisecond},
		{Endpoint: commerce.EndpointPurchase, Status: http.StatusOK, Duration: time.Millisecond},
		{Endpoint: commerce.EndpointPurchase, Status: http.StatusUnprocessableEntity, Duration: 2 * time.Millisecond},
		{Endpoint: commerce.EndpointRefund, Err: errors.New("refused"), Duration: 9 * time.Millisecond},
	} {
		s.observe(x)
	}
	s.add("checkout", 10*time.Millisecond, false)
	want := map[string][2]int{"start-session": {1, 0}, "purchase": {2, 1}, "refund": {1, 1}, "history": {0, 0}, "checkout": {1, 0}}
	for _, r := range s.rows() {
		if w, ok := want[r.Step]; ok && (r.Count != w[0] || r.Errors != w[1]) {
			t.Errorf("%s: %d calls, %d errors; want %d, %d", r.Step, r.Count, r.Errors, w[0], w[1])
		}
		if r.Step == "purchase" && (r.P50 != time.Millisecond || r.P99 != 2*time.Millisecond) {
			t.Errorf("purchase p50 %s p99 %s", r.P50, r.P99)
		}
	}
}
