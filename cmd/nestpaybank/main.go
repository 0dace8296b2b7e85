// Command nestpaybank is a fake NestPay bank for tests and local runs: the
// 3D gate, its ACS challenge page, the return POST and the XML API, with
// durable books in Redis. It prints "listening on URL" once it serves.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "nestpaybank:", err)
		os.Exit(1)
	}
}
