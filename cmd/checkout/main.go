// Command checkout plays Akinon Commerce against a running gateway: it
// serves the checkout pages, sends a shopper (a cookie-keeping HTTP client,
// or headless Chromium with -browser) through the gateway's hosted page,
// receives the return POST and the webhooks, and calls purchase, refund,
// void and history as Akinon would, asserting what Akinon would check.
//
//	checkout [flags]                 run the scenarios (-scenarios list shows them)
//	checkout -n 500 -c 16 [flags]    load: N checkouts, C at a time
//	checkout replay [flags] FILE     re-send a -record file, report byte differences
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv); err != nil {
		if !errors.Is(err, errFailed) {
			fmt.Fprintln(os.Stderr, "checkout:", err)
		}
		os.Exit(1)
	}
}
