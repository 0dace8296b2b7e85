package main

import (
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       time.Duration
		ok         bool
	}{
		{"a plain name", "4242 (redis-server) S 1 4242 4242 0 -1 4194560 1220 0 0 0 150 27 0 0 20 0 5 0 123 0 0", 1770 * time.Millisecond, true},
		{"a name with spaces and a parenthesis", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", 70 * time.Millisecond, true},
		{"cut short", "7 (x) R 1 7 7 0", 0, false},
		{"no name", "garbage", 0, false},
		{"not numbers", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 a b 0 0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseStatCPU(tt.stat)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("got %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCPUTimeOfThisProcessGrows(t *testing.T) {
	before, ok := cpuTime(0)
	if !ok {
		t.Fatal("cannot read this process's CPU time from /proc/self/stat")
	}
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for {
		for i := range 1_000_000 {
			x += i
		}
		if now, _ := cpuTime(0); now > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time stayed at %v over 10 s of work (%d)", before, x)
		}
	}
}

func TestPerRequest(t *testing.T) {
	before := cpuReading{server: time.Second, redis: 2 * time.Second, load: 0, ok: true}
	after := cpuReading{server: 3 * time.Second, redis: 3 * time.Second, load: 500 * time.Millisecond, ok: true}
	s, r, l, ok := perRequest(before, after, 10_000)
	if !ok || s != 200 || r != 100 || l != 50 {
		t.Fatalf("got %v, %v, %v, %v; want 200, 100, 50 µs", s, r, l, ok)
	}
	if _, _, _, ok := perRequest(before, cpuReading{}, 10); ok {
		t.Fatal("a reading that failed gave a figure")
	}
	if _, _, _, ok := perRequest(before, after, 0); ok {
		t.Fatal("no requests gave a figure")
	}
}
