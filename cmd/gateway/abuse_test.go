package main

import (
	"bytes"
	"encoding/json"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// twoReplicas boots two gateways on one Redis, as two replicas of a
// deployment, trusting X-Forwarded-For from loopback so a test can speak
// for many client addresses.
func twoReplicas(t *testing.T, extra map[string]string) []string {
	t.Helper()
	srv := redistest.Start(t)
	env := map[string]string{"TRUSTED_PROXIES": "127.0.0.1", "LOG_LEVEL": "error"}
	maps.Copy(env, extra)
	a, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), "", env))
	b, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), srv.URL(), "", env))
	return []string{a, b}
}

// callAs sends a start-session as a client at ip with credentials.
func callAs(base, ip, user, pass string) *http.Response {
	b, _ := json.Marshal(startBody("g-"+ip+user, "o-"+ip+user))
	req, _ := http.NewRequest(http.MethodPost, base+"/start-session", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestFailedAuthIsThrottledAcrossReplicas: wrong passwords are counted
// per client IP and per username in Redis, so two replicas share the
// budget; past it a failure is 429 with Retry-After instead of 401. Correct
// credentials are never slowed, even from a throttled address.
func TestFailedAuthIsThrottledAcrossReplicas(t *testing.T) {
	tests := []struct {
		name      string
		ip, user  func(i int) string
		allowed   int
		correctOK bool
	}{
		{"per client IP", func(int) string { return "203.0.113.7" }, func(i int) string { return "guess-" + strconv.Itoa(i) }, 6, true},
		{"per username", func(i int) string { return "198.51.100." + strconv.Itoa(i+1) }, func(int) string { return gatewaytest.User }, 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replicas := twoReplicas(t, map[string]string{"THROTTLE_AUTH_IP": "6/1m", "THROTTLE_AUTH_USER": "10/1m"})
			for i := 0; i <= tt.allowed; i++ {
				resp := callAs(replicas[i%2], tt.ip(i), tt.user(i), "wrong-password-0000")
				want := http.StatusUnauthorized
				if i == tt.allowed {
					want = http.StatusTooManyRequests
				}
				if resp.StatusCode != want {
					t.Fatalf("failure %d (replica %d): %d, want %d", i+1, i%2, resp.StatusCode, want)
				}
				if want == http.StatusTooManyRequests {
					if s, _ := strconv.Atoi(resp.Header.Get("Retry-After")); s < 1 {
						t.Fatalf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
					}
				}
			}
			if resp := callAs(replicas[1], tt.ip(0), gatewaytest.User, gatewaytest.Password); resp.StatusCode != http.StatusOK {
				t.Fatalf("correct credentials from the throttled address: %d, want 200 (a success is never slowed)", resp.StatusCode)
			}
		})
	}
}

// payFrom is a shopper at ip sending a card on a session's page.
func payFrom(t *testing.T, redirect, ip, card string) *http.Response {
	t.Helper()
	c, resp := openPageFrom(t, redirect, ip)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form, err := gatewaytest.CardForm(page, card)
	if err != nil {
		t.Fatalf("%d: %v", resp.StatusCode, err)
	}
	return postFormFrom(t, c, redirect, ip, form.Encode())
}

// openPageFrom opens a session's page as a browser at ip, whose cookie jar
// then carries the anti-forgery token for its card forms.
func openPageFrom(t *testing.T, redirect, ip string) (*http.Client, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get, _ := http.NewRequest(http.MethodGet, redirect, nil)
	get.Header.Set("X-Forwarded-For", ip)
	resp, err := c.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

// postFormFrom posts an encoded card form to a session's page from ip.
func postFormFrom(t *testing.T, c *http.Client, redirect, ip, form string) *http.Response {
	t.Helper()
	post, _ := http.NewRequest(http.MethodPost, redirect, strings.NewReader(form))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("X-Forwarded-For", ip)
	resp, err := c.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// luhn completes a card number of 15 digits with its check digit.
func luhn(prefix string) string {
	sum := 0
	for i := len(prefix) - 1; i >= 0; i-- {
		d := int(prefix[i] - '0')
		if (len(prefix)-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return prefix + strconv.Itoa((10-sum%10)%10)
}

// TestCardAttemptsAreThrottledAcrossReplicas: card testers run stolen
// numbers through payment pages, one session and one address each. Card
// forms are counted per client IP; declined or refused cards per merchant
// and per BIN, across replicas. Past a budget the shopper gets a clear 429
// page with Retry-After, and the card never reaches the bank.
func TestCardAttemptsAreThrottledAcrossReplicas(t *testing.T) {
	tests := []struct {
		name    string
		ip      func(i int) string
		card    func(i int) string
		allowed int
	}{
		{"per client IP", func(int) string { return "203.0.113.9" }, func(i int) string { return luhn("4" + strconv.Itoa(10000+i) + "000000000") }, 4},
		{"per client: three addresses of one IPv6 /64", func(i int) string { return "2001:db8:15:5::" + strconv.Itoa(i%3+1) }, func(i int) string { return luhn("4" + strconv.Itoa(10000+i) + "000000000") }, 4},
		{"declined cards per BIN", func(i int) string { return "198.51.100." + strconv.Itoa(i+1) }, func(i int) string { return declinedCard("400000", i) }, 3},
		{"declined cards per merchant", func(i int) string { return "192.0.2." + strconv.Itoa(i+1) }, func(i int) string { return declinedCard(strconv.Itoa(520000+i), i) }, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replicas := twoReplicas(t, map[string]string{"THROTTLE_CARD_IP": "4/10m", "THROTTLE_CARD_BIN": "3/10m", "THROTTLE_CARD_MERCHANT": "5/10m"})
			for i := 0; i <= tt.allowed; i++ {
				_, redirect := gatewaytest.AkinonAt(replicas[i%2]).StartSession(t, "o-card-"+strconv.Itoa(i))
				redirect = strings.Replace(redirect, replicas[i%2], replicas[(i+1)%2], 1) // the shopper lands on the other replica
				resp := payFrom(t, redirect, tt.ip(i), tt.card(i))
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if i < tt.allowed {
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnprocessableEntity {
						t.Fatalf("attempt %d: %d, want the payment's outcome or the form's refusal", i+1, resp.StatusCode)
					}
					continue
				}
				if resp.StatusCode != http.StatusTooManyRequests || !bytes.Contains(body, []byte("Too many payment attempts")) || resp.Header.Get("Retry-After") == "" {
					t.Fatalf("attempt %d past the budget: %d Retry-After %q\n%s", i+1, resp.StatusCode, resp.Header.Get("Retry-After"), body)
				}
			}
		})
	}
}

// TestConnectionsAreCapped: one client address holding idle keep-alive
// connections cannot take more than MAX_CONNS_PER_IP (the rest are closed
// at once), idle ones are closed after IDLE_TIMEOUT, and meanwhile
// /healthz and /readyz answer other clients at once.
func TestConnectionsAreCapped(t *testing.T) {
	srv := redistest.Start(t)
	addr := gatewaytest.FreeAddr(t)
	base, _ := gatewaytest.Run(t, gatewaytest.Env(addr, srv.URL(), "", map[string]string{"MAX_CONNS_PER_IP": "10", "IDLE_TIMEOUT": "1s", "LOG_LEVEL": "error"}))
	flooder := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	var conns []net.Conn
	for range 40 {
		c, err := flooder.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// One request each, then idle on a kept-alive connection.
		_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
		conns = append(conns, c)
	}
	open := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 512)
		if n, _ := c.Read(buf); n > 0 && bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200")) {
			open++
		}
	}
	if open != 10 {
		t.Fatalf("%d of 40 connections from one address were served, want MAX_CONNS_PER_IP = 10", open)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		start := time.Now()
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(base + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s during the flood: %v %v", path, resp, err)
		}
		resp.Body.Close()
		t.Logf("%s answered in %s while one address held its 10 connections", path, time.Since(start).Round(time.Millisecond))
	}
	// Idle ones are closed after IDLE_TIMEOUT; the address may connect again.
	redistest.Eventually(t, 5*time.Second, "the idle connections to be closed", func() bool {
		for _, c := range conns {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
				return false
			}
		}
		return true
	})
	c, err := flooder.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	if b, _ := io.ReadAll(c); !bytes.HasPrefix(b, []byte("HTTP/1.1 200")) {
		t.Fatalf("after the idle connections closed, the address is served again: %q", b)
	}
}

// TestHugeHeadersAreRefused: a header block over 16 KiB is answered 431
// before any of it reaches a handler or a log line.
func TestHugeHeadersAreRefused(t *testing.T) {
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), redistest.Start(t).URL(), "", map[string]string{"LOG_LEVEL": "error"}))
	for _, size := range []int{24 << 10, 1 << 20} {
		req, _ := http.NewRequest(http.MethodPost, base+"/start-session", strings.NewReader("{}"))
		req.Header.Set("x-akinon-api-version", strings.Repeat("v", size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("a %d-byte header: %d, want 431", size, resp.StatusCode)
		}
	}
}

// TestOperatorEndpointsOnTheirOwnListener: with ADMIN_ADDR the operator
// endpoints (and the health checks) are served there and not on the
// public listener.
func TestOperatorEndpointsOnTheirOwnListener(t *testing.T) {
	admin := gatewaytest.FreeAddr(t)
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), redistest.Start(t).URL(), "", map[string]string{"ADMIN_ADDR": admin,
		"ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "ops-password-123", "LOG_LEVEL": "error"}))
	get := func(u string) int {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.SetBasicAuth("ops", "ops-password-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(base + "/admin/doubts"); code == http.StatusOK {
		t.Fatalf("/admin/doubts is served on the public listener too")
	}
	for _, path := range []string{"/admin/doubts", "/admin/webhooks/stats", "/healthz", "/readyz"} {
		if code := get("http://" + admin + path); code != http.StatusOK {
			t.Fatalf("%s on ADMIN_ADDR: %d", path, code)
		}
	}
}
