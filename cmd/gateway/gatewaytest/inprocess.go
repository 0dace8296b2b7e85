package gatewaytest

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/app"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// The test merchant's credentials and keys, which Env configures.
const (
	User       = "akinon-test"
	Password   = "akinon-test-password"
	HashKey    = "hash-key-test-0123456789abcdef0123456789"
	WebhookKey = "webhook-key-test-0123456789abcdef012345"
)

// Env is the environment of a gateway under test listening on addr (see
// FreeAddr): its store (redisURL, "" for the embedded one), Akinon's
// webhook endpoint, and extra on top.
func Env(addr, redisURL, webhookURL string, extra map[string]string) map[string]string {
	env := map[string]string{
		"ADDR":             addr,
		"PUBLIC_URL":       "http://" + addr,
		"GATEWAY_USERNAME": User,
		"GATEWAY_PASSWORD": Password,
		"HASH_KEY":         HashKey,
		"REDIS_URL":        redisURL,
		"WEBHOOK_URL":      webhookURL,
		"WEBHOOK_HASH_KEY": WebhookKey,
		"WEBHOOK_POLL":     "20ms",
		"JOBS_INTERVAL":    "50ms",
		"DEV_MODE":         "1",
		"LOG_LEVEL":        "warn",
	}
	maps.Copy(env, extra)
	return env
}

// Gateway is the program running in this process, and its parts.
type Gateway struct {
	app.Parts
	Base string // the main listener's URL

	// Stop cancels the program and returns what Run returned; cleanup
	// stops it if the test did not.
	Stop func() error
}

// Start runs the program (app.Run) in this process with env and opts, and
// waits until it serves /healthz.
func Start(tb testing.TB, env map[string]string, opts ...app.Option) *Gateway {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	parts := make(chan app.Parts, 1)
	opts = append(opts, app.Started(func(p app.Parts) { parts <- p }))
	go func() { done <- app.Run(ctx, nil, func(k string) string { return env[k] }, os.Stdout, opts...) }()
	g := &Gateway{}
	g.Stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("run did not return after its context was cancelled")
		}
	})
	tb.Cleanup(func() {
		if err := g.Stop(); err != nil {
			tb.Errorf("run: %v", err)
		}
	})
	select {
	case g.Parts = <-parts:
	case err := <-done:
		done <- err // for Stop, which the cleanup calls
		tb.Fatalf("run returned before it listened: %v", err)
	case <-time.After(30 * time.Second):
		tb.Fatal("the gateway did not listen within 30s")
	}
	g.Base = "http://" + g.Addr
	waitHealthy(tb, g.Base, 10*time.Second, func() {
		select {
		case err := <-done:
			tb.Fatalf("run returned early: %v", err)
		default:
		}
	})
	return g
}

// Exec runs the program once with args and env, as the command line
// would, and returns what it returned: for -check-config, -version and
// the refusals at start.
func Exec(ctx context.Context, args []string, env map[string]string) error {
	return ExecTo(ctx, io.Discard, args, env)
}

// ExecTo is Exec with the program's standard output (what -check-config
// and -version print) written to out.
func ExecTo(ctx context.Context, out io.Writer, args []string, env map[string]string) error {
	return app.Run(ctx, args, func(k string) string { return env[k] }, out)
}

// Run is Start for a test that needs only the URL and the stop.
func Run(tb testing.TB, env map[string]string, opts ...app.Option) (base string, stop func() error) {
	tb.Helper()
	g := Start(tb, env, opts...)
	return g.Base, g.Stop
}

// waitHealthy waits until base answers /healthz with 200; alive fails
// the test early if what serves it has died.
func waitHealthy(tb testing.TB, base string, within time.Duration, alive func()) {
	tb.Helper()
	c := &http.Client{Timeout: time.Second}
	Eventually(tb, within, "the gateway to serve "+base+"/healthz", func() bool {
		alive()
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// FreeAddr is a loopback address nobody listens on at the moment of asking.
func FreeAddr(tb testing.TB) string { tb.Helper(); return redistest.FreeAddr(tb) }

// Eventually waits until cond holds and fails the test naming what it
// waited for if it does not within the deadline.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	redistest.Eventually(tb, within, what, cond)
}

// Clock is a test clock: it moves only when the test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time, for app.WithClock.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
