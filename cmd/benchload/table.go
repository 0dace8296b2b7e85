package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// scenario is one row of the table: what is posted where, with how many
// round trips to Redis, compared with which floor.
type scenario struct {
	Name       string
	RoundTrips string // as the issue writes them
	Floor      string // the Name of the floor with the same round trips; "" for a floor
}

// sample is what one round measured of one scenario.
type sample struct {
	Rate          float64 // requests per second
	P50, P99      time.Duration
	Errors        int
	RSS           int64   // the server's largest resident set during the window, bytes
	AllocsPerReq  float64 // heap objects allocated by the server per request
	AllocsMissing bool    // the server's metrics could not be read
	// CPU per request, µs: the server's, its redis-servers' and the load
	// generator's.
	CPUServer, CPURedis, CPULoad float64
	CPUMissing                   bool // a process's CPU could not be read
}

// median is the middle value (the mean of the middle two of an even
// count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile is the p-th percentile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// row is a scenario's medians over the rounds, and its rate in each
// round, in order.
type row struct {
	scenario
	Rate, P50ms, P99ms, RSSMiB, Allocs float64
	CPUServer, CPURedis, CPULoad       float64
	Rates                              []float64
	Errors                             int
	AllocsMissing, CPUMissing          bool
}

func summarise(sc scenario, samples []sample) row {
	pick := func(f func(sample) float64) float64 {
		xs := make([]float64, len(samples))
		for i, s := range samples {
			xs[i] = f(s)
		}
		return median(xs)
	}
	r := row{scenario: sc,
		Rate:      pick(func(s sample) float64 { return s.Rate }),
		P50ms:     pick(func(s sample) float64 { return ms(s.P50) }),
		P99ms:     pick(func(s sample) float64 { return ms(s.P99) }),
		RSSMiB:    pick(func(s sample) float64 { return float64(s.RSS) / (1 << 20) }),
		Allocs:    pick(func(s sample) float64 { return s.AllocsPerReq }),
		CPUServer: pick(func(s sample) float64 { return s.CPUServer }),
		CPURedis:  pick(func(s sample) float64 { return s.CPURedis }),
		CPULoad:   pick(func(s sample) float64 { return s.CPULoad }),
	}
	for _, s := range samples {
		r.Rates = append(r.Rates, s.Rate)
		r.Errors += s.Errors
		r.AllocsMissing = r.AllocsMissing || s.AllocsMissing
		r.CPUMissing = r.CPUMissing || s.CPUMissing
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// writeTable prints the rows as a Markdown table, each gateway row with
// its ratios to the floor of the same round trips: throughput (higher is
// better) and p99 (lower is better). Throughput is also compared round
// by round, each window with its floor's of the same round: on a shared
// machine whose speed drifts over minutes, that ratio moves less than
// the one of medians taken from different rounds. The CPU per request of
// the server, its redis-servers and the load generator says where a
// machine whose cores are full spends a row's time.
func writeTable(w io.Writer, rows []row) {
	byName := map[string]row{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	fmt.Fprintln(w, "| scenario | round trips | req/s | p50 ms | p99 ms | req/s ÷ floor | each round ÷ its floor (median) | p99 ÷ floor | RSS MiB | allocs/req | CPU µs/req: server + redis + load | errors |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		ratio, rounds, p99 := "1", "1", "1"
		if r.Floor != "" {
			f, ok := byName[r.Floor]
			ratio, rounds, p99 = "n/a", "n/a", "n/a"
			if ok && f.Rate > 0 && f.P99ms > 0 {
				ratio = fmt.Sprintf("%.2f (%s)", r.Rate/f.Rate, r.Floor)
				p99 = fmt.Sprintf("%.1f×", r.P99ms/f.P99ms)
			}
			if ok {
				rounds = roundRatios(r.Rates, f.Rates)
			}
		}
		allocs := fmt.Sprintf("%.0f", r.Allocs)
		if r.AllocsMissing {
			allocs = "n/a"
		}
		cpu := fmt.Sprintf("%.0f + %.0f + %.0f = %.0f", r.CPUServer, r.CPURedis, r.CPULoad, r.CPUServer+r.CPURedis+r.CPULoad)
		if r.CPUMissing {
			cpu = "n/a"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.1f | %.1f | %s | %s | %s | %.0f | %s | %s | %d |\n",
			r.Name, r.RoundTrips, thousands(r.Rate), r.P50ms, r.P99ms, ratio, rounds, p99, r.RSSMiB, allocs, cpu, r.Errors)
	}
}

// roundRatios is each round's rate over its floor's, and their median:
// "0.42, 0.60, 0.55 (0.55)"; n/a when the rounds do not pair up.
func roundRatios(rates, floor []float64) string {
	if len(rates) == 0 || len(rates) != len(floor) {
		return "n/a"
	}
	ratios := make([]float64, len(rates))
	parts := make([]string, len(rates))
	for i := range rates {
		if floor[i] <= 0 {
			return "n/a"
		}
		ratios[i] = rates[i] / floor[i]
		parts[i] = fmt.Sprintf("%.2f", ratios[i])
	}
	return fmt.Sprintf("%s (%.2f)", strings.Join(parts, ", "), median(ratios))
}

// thousands writes a rate as a whole number with commas, as the issue does.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// parseMallocs reads go_memstats_mallocs_total from a Prometheus text
// exposition.
func parseMallocs(r io.Reader) (float64, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_mallocs_total "); ok {
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return x, err == nil
		}
	}
	return 0, false
}
