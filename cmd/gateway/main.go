// Command gateway serves Akinon's payment-extension contract: the five
// calls, the hosted payment page and the webhooks. The program is
// cmd/gateway/app; this file only gives it the process's signals,
// arguments, environment and output.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/akinon-gateway/gateway/cmd/gateway/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
