package redistest

import (
	"net"
	"strconv"
	"testing"
)

// FreeAddr is a loopback address with a port nobody listens on at the
// moment of asking: the one free-port helper of the project's tests.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
