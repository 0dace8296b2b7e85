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
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) == 7 && os.Args[1] == "floor" {
		err = runFloor(ctx, os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6])
	} else if len(os.Args) == 1 {
		var s settings
		if s, err = parseSettings(os.Getenv); err == nil {
			err = bench(ctx, s, os.Stdout)
		}
	} else {
		err = fmt.Errorf("usage: benchload (settings from BENCH_DURATION, BENCH_CONNECTIONS, BENCH_ROUNDS, BENCH_WARMUP)")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}
