package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    settings
		wantErr string
	}{
		{"defaults are the issue's measure", nil, settings{Duration: 10 * time.Second, Connections: 64, Rounds: 3, Warmup: time.Second}, ""},
		{"each overridable", map[string]string{"BENCH_DURATION": "2s", "BENCH_CONNECTIONS": "8", "BENCH_ROUNDS": "1", "BENCH_WARMUP": "100ms"},
			settings{Duration: 2 * time.Second, Connections: 8, Rounds: 1, Warmup: 100 * time.Millisecond}, ""},
		{"a duration without a unit", map[string]string{"BENCH_DURATION": "10"}, settings{}, "BENCH_DURATION"},
		{"zero connections", map[string]string{"BENCH_CONNECTIONS": "0"}, settings{}, "BENCH_CONNECTIONS"},
		{"rounds not a number", map[string]string{"BENCH_ROUNDS": "three"}, settings{}, "BENCH_ROUNDS"},
		{"a negative warm-up", map[string]string{"BENCH_WARMUP": "-1s"}, settings{}, "BENCH_WARMUP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSettings(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.in...)
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.in[i] {
				t.Errorf("median reordered its input: %v", tt.in)
			}
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 99, 0},
		{d, 50, 50 * time.Millisecond},
		{d, 99, 99 * time.Millisecond},
		{d, 100, 100 * time.Millisecond},
		{d[:1], 99, time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("p%v of %d = %v, want %v", tt.p, len(tt.sorted), got, tt.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	floor := scenario{Name: "floor, replay", RoundTrips: "1"}
	gw := scenario{Name: "replay", RoundTrips: "1", Floor: floor.Name}
	orphan := scenario{Name: "orphan", RoundTrips: "3", Floor: "missing floor"}
	rows := []row{
		{scenario: floor, Rate: 17296, Rates: []float64{20000, 17296, 10000}, P50ms: 2, P99ms: 12.2, RSSMiB: 19, Allocs: 49,
			CPUServer: 60, CPURedis: 25.4, CPULoad: 30},
		{scenario: gw, Rate: 6160, Rates: []float64{7000, 6160, 5000}, P50ms: 8, P99ms: 28, RSSMiB: 40, Allocs: 386, Errors: 2,
			CPUServer: 170, CPURedis: 30, CPULoad: 31},
		{scenario: orphan, Rate: 10, AllocsMissing: true, CPUMissing: true},
	}
	var b bytes.Buffer
	writeTable(&b, rows)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		"| floor, replay | 1 | 17,296 | 2.0 | 12.2 | 1 | 1 | 1 | 19 | 49 | 60 + 25 + 30 = 115 | 0 |",
		"| replay | 1 | 6,160 | 8.0 | 28.0 | 0.36 (floor, replay) | 0.35, 0.36, 0.50 (0.36) | 2.3× | 40 | 386 | 170 + 30 + 31 = 231 | 2 |",
		"| orphan | 3 | 10 | 0.0 | 0.0 | n/a | n/a | n/a | 0 | n/a | n/a | 0 |",
	}
	if len(lines) != 2+len(want) {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, w := range want {
		if lines[2+i] != w {
			t.Errorf("row %d:\n got %s\nwant %s", i, lines[2+i], w)
		}
	}
}

func TestRoundRatios(t *testing.T) {
	tests := []struct {
		name         string
		rates, floor []float64
		want         string
	}{
		{"each round against its own floor", []float64{50, 30, 90}, []float64{100, 100, 100}, "0.50, 0.30, 0.90 (0.50)"},
		{"a slow round is slow for both", []float64{80, 40}, []float64{100, 50}, "0.80, 0.80 (0.80)"},
		{"rounds that do not pair up", []float64{1, 2}, []float64{1}, "n/a"},
		{"no rounds", nil, nil, "n/a"},
		{"a floor that served nothing", []float64{1}, []float64{0}, "n/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roundRatios(tt.rates, tt.floor); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSummariseTakesMediansAndSumsErrors(t *testing.T) {
	sc := scenario{Name: "x"}
	r := summarise(sc, []sample{
		{Rate: 100, P99: 3 * time.Millisecond, Errors: 1, AllocsPerReq: 10, CPUServer: 300, CPURedis: 5},
		{Rate: 300, P99: 1 * time.Millisecond, Errors: 2, AllocsPerReq: 30, CPUServer: 100, CPURedis: 9, CPUMissing: true},
		{Rate: 200, P99: 2 * time.Millisecond, AllocsPerReq: 20, AllocsMissing: true, CPUServer: 200, CPURedis: 7},
	})
	if r.Rate != 200 || r.P99ms != 2 || r.Allocs != 20 || r.Errors != 3 || !r.AllocsMissing ||
		r.CPUServer != 200 || r.CPURedis != 7 || !r.CPUMissing {
		t.Fatalf("got %+v", r)
	}
	if !slices.Equal(r.Rates, []float64{100, 300, 200}) {
		t.Fatalf("rates %v, want each round's in order", r.Rates)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 11069.4: "11,069", 1234567: "1,234,567"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMallocs(t *testing.T) {
	tests := []struct {
		name, text string
		want       float64
		ok         bool
	}{
		{"present", "# HELP go_memstats_mallocs_total x\n# TYPE go_memstats_mallocs_total counter\ngo_memstats_mallocs_total 1.234e+06\ngo_threads 7\n", 1234000, true},
		{"absent", "go_threads 7\n", 0, false},
		{"a longer name is not it", "go_memstats_mallocs_total_other 5\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseMallocs(strings.NewReader(tt.text))
			if got != tt.want || ok != tt.ok {
				t.Fatalf("got %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
