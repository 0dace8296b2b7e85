package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// ipv6Sources puts n addresses of the /64 prefix (2001:db8:15:N::/64
// style, documentation space) on lo for the test and returns them; it
// skips, saying why, where the test may not add addresses (not root, no
// ip, IPv6 off).
func ipv6Sources(t *testing.T, prefix string, n int) []string {
	t.Helper()
	var out []string
	for i := 1; i <= n; i++ {
		a := fmt.Sprintf("%s:%x:%x:%x:%x", prefix, i*7919%65536, i*104729%65536, i*31, i)
		cmd := exec.Command("ip", "-6", "addr", "add", a+"/128", "dev", "lo", "nodad")
		if b, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(b), "File exists") {
			t.Skipf("cannot add IPv6 source addresses to lo (needs root and ip(8); run as root or in CI): ip -6 addr add %s/128 dev lo: %v %s", a, err, b)
		}
		t.Cleanup(func() { _ = exec.Command("ip", "-6", "addr", "del", a+"/128", "dev", "lo").Run() })
		out = append(out, a)
	}
	return out
}

// freeAddr6 is a free port on ::1.
func freeAddr6(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// clientFrom is an HTTP client whose connections come from src.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}}}
}

// wrongPassword is a start-session with credentials that fail, as the
// client c, speaking (through a trusted proxy) for xff when it is set.
func wrongPassword(t *testing.T, c *http.Client, base, xff string, i int) int {
	t.Helper()
	b, _ := json.Marshal(startBody(fmt.Sprint("g-", i), fmt.Sprint("o-", i)))
	req, _ := http.NewRequest(http.MethodPost, base+"/start-session", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	req.SetBasicAuth(fmt.Sprint("guess-", i), "wrong-password-0000")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestIPv6ClientsAreThrottledByPrefix: the addresses of one /64 share one
// client's budget of failed Basic auth (THROTTLE_AUTH_IP, 20), whether 30
// of them connect themselves or a trusted proxy's X-Forwarded-For names a
// new one each time; an address of another /64 is another client.
func TestIPv6ClientsAreThrottledByPrefix(t *testing.T) {
	const budget = 20
	tests := []struct {
		name  string
		setup func(t *testing.T) (base string, from func(i int) (c *http.Client, xff string), other func() (*http.Client, string))
	}{
		{"source addresses on lo", func(t *testing.T) (string, func(int) (*http.Client, string), func() (*http.Client, string)) {
			srcs := ipv6Sources(t, "2001:db8:15:1", 30)
			other := ipv6Sources(t, "2001:db8:15:2", 1)
			addr := freeAddr6(t)
			base, _ := gatewaytest.Run(t, gatewaytest.Env(addr, redistest.Start(t).URL(), "", map[string]string{"LOG_LEVEL": "error", "THROTTLE_AUTH_IP": "20/1m"}))
			return base, func(i int) (*http.Client, string) { return clientFrom(srcs[i%len(srcs)]), "" },
				func() (*http.Client, string) { return clientFrom(other[0]), "" }
		}},
		{"through a trusted proxy", func(t *testing.T) (string, func(int) (*http.Client, string), func() (*http.Client, string)) {
			base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), redistest.Start(t).URL(), "", map[string]string{"LOG_LEVEL": "error",
				"THROTTLE_AUTH_IP": "20/1m", "TRUSTED_PROXIES": "127.0.0.1"}))
			return base, func(i int) (*http.Client, string) {
					return http.DefaultClient, fmt.Sprintf("2001:db8:15:1:%x:%x:%x:%x", i*7919%65536, i*31, i%7, i)
				},
				func() (*http.Client, string) { return http.DefaultClient, "2001:db8:15:2::1" }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, from, other := tt.setup(t)
			failed, throttled := 0, false
			for i := 0; i < 30*(budget+1) && !throttled; i++ {
				c, xff := from(i)
				switch code := wrongPassword(t, c, base, xff, i); code {
				case http.StatusUnauthorized:
					failed++
				case http.StatusTooManyRequests:
					throttled = true
				default:
					t.Fatalf("failure %d: %d", i+1, code)
				}
			}
			t.Logf("addresses of one /64: %d × 401, then a 429: %v", failed, throttled)
			if failed != budget || !throttled {
				t.Fatalf("addresses of one /64 got %d failures (429 after them: %v), want THROTTLE_AUTH_IP's %d for the one client, then 429", failed, throttled, budget)
			}
			c, xff := other()
			if code := wrongPassword(t, c, base, xff, 9999); code != http.StatusUnauthorized {
				t.Fatalf("an address of another /64: %d, want 401 (another client)", code)
			}
		})
	}
}

// TestIPv6ConnectionsAreCappedByPrefix: MAX_CONNS_PER_IP counts the
// connections of one /64 together; another /64 is served.
func TestIPv6ConnectionsAreCappedByPrefix(t *testing.T) {
	srcs := ipv6Sources(t, "2001:db8:15:3", 10)
	other := ipv6Sources(t, "2001:db8:15:4", 1)
	addr := freeAddr6(t)
	gatewaytest.Run(t, gatewaytest.Env(addr, redistest.Start(t).URL(), "", map[string]string{"LOG_LEVEL": "error", "MAX_CONNS_PER_IP": "10"}))
	served := func(src string) bool {
		return healthzOn(t, &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}, addr)
	}
	open := 0
	for i := range 30 {
		if served(srcs[i%len(srcs)]) {
			open++
		}
	}
	t.Logf("10 addresses of one /64, 3 connections each: %d held", open)
	if open != 10 {
		t.Fatalf("10 addresses of one /64 hold %d connections, want MAX_CONNS_PER_IP = 10 for the one client", open)
	}
	if !served(other[0]) {
		t.Fatal("an address of another /64 was refused")
	}
}
