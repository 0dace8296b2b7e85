package idempotency_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/idempotency"
)

func TestParse(t *testing.T) {
	tests := []struct {
		reply []any
		want  idempotency.Found
		ok    bool
	}{
		{nil, idempotency.Found{}, false},
		{[]any{"reused"}, idempotency.Found{Kind: idempotency.Reused}, true},
		{[]any{"inflight"}, idempotency.Found{Kind: idempotency.InFlight}, true},
		{[]any{"replay", "200", "body", "1700000000000"}, idempotency.Found{Kind: idempotency.Replay, Status: 200, Body: []byte("body"), Expires: time.UnixMilli(1700000000000)}, true},
		{[]any{"replay", "200"}, idempotency.Found{}, false},
		{[]any{"claimed", "x"}, idempotency.Found{}, false},
	}
	for _, tt := range tests {
		got, ok := idempotency.Parse(tt.reply)
		if ok != tt.ok || got.Kind != tt.want.Kind || got.Status != tt.want.Status ||
			!bytes.Equal(got.Body, tt.want.Body) || !got.Expires.Equal(tt.want.Expires) {
			t.Errorf("Parse(%v) = %+v, %v; want %+v, %v", tt.reply, got, ok, tt.want, tt.ok)
		}
	}
}

// TestRecordReachesLua: the scripts read the record through REC, made
// from Record, so a field renamed in Go is renamed in every script.
func TestRecordReachesLua(t *testing.T) {
	want := "local REC = {state = 's', fingerprint = 'f', token = 't', action = 'a', amount = 'm', " +
		"status = 'c', body = 'b', expires = 'x', order = 'o'}\n"
	if !strings.HasPrefix(idempotency.Lua, want) {
		t.Errorf("Lua starts %q, want %q", idempotency.Lua[:min(len(idempotency.Lua), len(want))], want)
	}
	if strings.Contains(strings.TrimPrefix(idempotency.Lua, want), "'s',") {
		t.Error("idempotency.lua names a record field by its letter, not through REC")
	}
}
