package extension_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
)

// TestAHangUpIsNotAFailure: a client that goes away mid-request (its body
// cut short) is not the gateway's failure: no 500, no error line, one
// info line with status 499.
func TestAHangUpIsNotAFailure(t *testing.T) {
	g := mustGateway(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("POST /refund HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Authorization: Basic YWtpbm9uLWd3OnRlc3QtcGFzc3dvcmQtMDEyMw==\r\nContent-Length: 1000\r\n\r\n{\"guid\":"))
	c.Close()
	gatewaytest.Eventually(t, 5*time.Second, "the request's log line", func() bool {
		return len(g.logs.FilterMessage("request").FilterField(zap.Int("status", 499)).All()) == 1
	})
	for _, e := range g.logs.All() {
		if e.Level.String() == "error" || e.ContextMap()["status"] == int64(500) {
			t.Fatalf("a hang-up logged as a failure: %s %v", e.Message, e.ContextMap())
		}
	}
}

// TestRefusalsAreLoggedSampled: a flood of wrong passwords writes a few
// log lines a second, not one a request.
func TestRefusalsAreLoggedSampled(t *testing.T) {
	g := mustGateway(t)
	const flood = 300
	start := time.Now()
	for i := range flood {
		if r := g.call(t, "/history", `{"guid":"g","orderId":"o"}`, withAuth("akinon", "wrong-"+strings.Repeat("x", i%7))); r.Status != 401 {
			t.Fatalf("wrong password: %s", r)
		}
	}
	lines := len(g.logs.FilterField(zap.Int("status", 401)).All())
	// Each of the two lines a refusal writes (the access line, the
	// refusal) is sampled: 5 a second, then one in 100. A slow run (the
	// race detector) spans more seconds, so the bound follows the clock.
	seconds := int(time.Since(start).Seconds()) + 1
	// (A fixed bound of half the flood failed a run slowed to 12 calls a
	// second by a busy machine: 200 lines, within the clock's 258.)
	if most := 2 * (5*seconds + flood/100 + 1); lines > most || lines == 0 {
		t.Fatalf("%d wrong passwords in %d s wrote %d log lines, want at most %d", flood, seconds, lines, most)
	}
	t.Logf("%d wrong passwords wrote %d log lines", flood, lines)
}
