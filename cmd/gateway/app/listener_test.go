package app

import (
	"net"
	"testing"
	"time"
)

// TestAdmit: who gets a connection, as a table of what is already open.
func TestAdmit(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name      string
		lim       connLimits
		all       int
		held      int  // connections the client already holds
		penalised bool // its body was cut for its rate within slowPenalty
		want      bool
	}{
		{"room", connLimits{total: 16, perClient: 10}, 3, 3, false, true},
		{"the client's cap", connLimits{total: 16, perClient: 10}, 10, 10, false, false},
		{"the total cap, a new client", connLimits{total: 16, perClient: 10}, 16, 0, false, false},
		{"the reserve, a light client", connLimits{total: 16, perClient: 0}, 14, 7, false, true},
		{"the reserve, a heavy client", connLimits{total: 16, perClient: 0}, 14, 8, false, false},
		{"below the reserve, a heavy client", connLimits{total: 16, perClient: 0}, 13, 13, false, true},
		{"penalised, under 8", connLimits{total: 16, perClient: 10}, 7, 7, true, true},
		{"penalised, at 8", connLimits{total: 16, perClient: 10}, 8, 8, true, false},
		{"no caps", connLimits{}, 100000, 100000, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := limitListener(nil, tt.lim)
			l.all, l.open["c"] = tt.all, tt.held
			if tt.penalised {
				l.slow["c"] = now.Add(slowPenalty)
			}
			if got := l.admit("c", now); got != tt.want {
				t.Fatalf("admit = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPenalty: a slow body holds its client to lightClient connections
// for slowPenalty, never a trusted proxy, and the hold ends.
func TestPenalty(t *testing.T) {
	_, proxy, _ := net.ParseCIDR("10.0.0.0/8")
	l := limitListener(nil, connLimits{total: 100, proxies: []*net.IPNet{proxy}})
	l.penalise("192.0.2.7:5555")
	l.penalise("10.1.2.3:5555")
	l.open["192.0.2.7"], l.open["10.1.2.3"] = lightClient, lightClient
	now := time.Now()
	if l.admit("192.0.2.7", now) {
		t.Fatal("a penalised client holding 8 was let in")
	}
	if !l.admit("10.1.2.3", now) {
		t.Fatal("a trusted proxy was penalised")
	}
	if !l.admit("192.0.2.7", now.Add(slowPenalty+time.Second)) {
		t.Fatal("the penalty did not end")
	}
}
