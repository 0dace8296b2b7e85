// Command benchload is `make bench-load`: the gateway and the floor (the
// least a gateway of this kind can do, see floor.go) on one redis-server,
// loaded in turn through real TCP by a closed loop of BENCH_CONNECTIONS
// connections, scenario after scenario, BENCH_ROUNDS interleaved rounds;
// it prints the medians as a table with each gateway row's ratio to the
// floor with the same round trips. It times things, so it is not a test.
//
// `benchload floor ADDR METRICS_ADDR REDIS_URL USER PASSWORD` is the floor
// itself, run as a process of its own the way the gateway is.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}

// run is the floor when args name it, else the bench; an interrupt ends
// either.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch {
	case len(args) == 6 && args[0] == "floor":
		return runFloor(ctx, args[1], args[2], args[3], args[4], args[5])
	case len(args) == 0:
		s, err := parseSettings(getenv)
		if err != nil {
			return err
		}
		return bench(ctx, s, out)
	}
	return fmt.Errorf("usage: benchload (settings from BENCH_DURATION, BENCH_CONNECTIONS, BENCH_ROUNDS, BENCH_WARMUP)")
}
