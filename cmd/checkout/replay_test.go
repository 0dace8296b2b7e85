package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
)

func TestCompareReplay(t *testing.T) {
	rec := commerce.Record{Status: 200, ResponseBody: `{"transactionId":"t1","status":"RESOLVED","subStatus":"RESOLVED"}`}
	cases := []struct {
		name string
		x    commerce.Exchange
		want string // in the description; "" for identical
	}{
		{"identical", commerce.Exchange{Status: 200, Body: []byte(rec.ResponseBody)}, ""},
		{"one byte", commerce.Exchange{Status: 200, Body: []byte(`{"transactionId":"t1","status":"REJECTED","subStatus":"RESOLVED"}`)},
			"body differs at byte 34"},
		{"longer", commerce.Exchange{Status: 200, Body: []byte(rec.ResponseBody + " ")}, "differs at byte 65 (recorded 65 bytes, replayed 66)"},
		{"status only", commerce.Exchange{Status: 409, Body: []byte(rec.ResponseBody)}, "status 409, recorded 200 (same body)"},
		{"status and body", commerce.Exchange{Status: 422, Body: []byte(`{}`)}, "status 422, recorded 200; body differs at byte 1"},
		{"no answer", commerce.Exchange{Err: errors.New("connection refused")}, "no answer: connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := compareReplay(rec, &tc.x)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("compareReplay = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGUIDOf(t *testing.T) {
	if got := guidOf(`{"version":"1.0","guid":"g-1"}`); got != "guid g-1" {
		t.Errorf("guidOf = %q", got)
	}
	if got := guidOf(`not json`); got != "(no guid)" {
		t.Errorf("guidOf = %q", got)
	}
}

// TestReplayAfterFlags: replay is found first or after the flags, never
// as a flag's value.
func TestReplayAfterFlags(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"replay", "rec.jsonl"}, 0},
		{[]string{"-gateway", "http://127.0.0.1:9", "replay", "rec.jsonl"}, 2},
		{[]string{"-gateway=http://127.0.0.1:9", "replay", "rec.jsonl"}, 1},
		{[]string{"-v", "replay", "rec.jsonl"}, 1},
		{[]string{"-scenarios", "replay"}, -1},
		{[]string{"-scenarios", "sale"}, -1},
		{[]string{"rec.jsonl", "replay"}, -1},
	}
	for _, tt := range tests {
		if got := replayAt(tt.args); got != tt.want {
			t.Errorf("replayAt(%q) = %d, want %d", tt.args, got, tt.want)
		}
	}
}
