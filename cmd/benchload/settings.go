package main

import (
	"fmt"
	"strconv"
	"time"
)

// settings are what one run of the bench does. The defaults are the
// issue's measure: wrk -c64 -d10s, three interleaved rounds.
type settings struct {
	Duration    time.Duration // BENCH_DURATION: one scenario's window in one round
	Connections int           // BENCH_CONNECTIONS: the closed loop's connections
	Rounds      int           // BENCH_ROUNDS: interleaved rounds; the table shows medians
	Warmup      time.Duration // BENCH_WARMUP: load before each window that is not counted
	Profile     string        // BENCH_PROFILE: a directory for the gateway's CPU profiles of round 1, or ""
}

var defaults = settings{Duration: 10 * time.Second, Connections: 64, Rounds: 3, Warmup: time.Second}

// parseSettings reads the settings from the environment; an empty
// variable keeps the default, a bad one is an error naming it.
func parseSettings(getenv func(string) string) (settings, error) {
	s := defaults
	dur := func(name string, dst *time.Duration) error {
		v := getenv(name)
		if v == "" {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration such as 10s", name, v)
		}
		*dst = d
		return nil
	}
	num := func(name string, dst *int) error {
		v := getenv(name)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("%s: %q is not a positive whole number", name, v)
		}
		*dst = n
		return nil
	}
	s.Profile = getenv("BENCH_PROFILE")
	for _, err := range []error{
		dur("BENCH_DURATION", &s.Duration),
		num("BENCH_CONNECTIONS", &s.Connections),
		num("BENCH_ROUNDS", &s.Rounds),
		dur("BENCH_WARMUP", &s.Warmup),
	} {
		if err != nil {
			return settings{}, err
		}
	}
	return s, nil
}
