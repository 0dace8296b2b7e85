package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/extension/openapicheck"
	"github.com/akinon-gateway/gateway/provider/audit"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybanktest"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// The tests of this package boot the real program: in this process with
// run (mustRun), or as a process of its own that a test kills with
// SIGKILL (startGateway). Both end, where money moved, with the ledger
// audit (mustAudit).

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	nestpaybanktest.Remove()
	redistest.Stop()
	os.Exit(code)
}

// build is the gateway binary, built once for the package's tests.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func mustBuild(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "gateway-bin-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "gateway")
		out, err := exec.Command("go", "build", "-o", build.path, ".").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}

// process is the gateway running as a process of its own.
type process struct {
	tb   testing.TB
	env  map[string]string
	Base string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// startGateway runs the gateway binary with env and waits until it
// serves; cleanup kills it.
func startGateway(tb testing.TB, env map[string]string) *process {
	tb.Helper()
	p := &process{tb: tb, env: env, Base: "http://" + env["ADDR"]}
	p.start()
	tb.Cleanup(p.Kill)
	return p
}

func (p *process) start() {
	p.tb.Helper()
	cmd := exec.Command(mustBuild(p.tb))
	cmd.Env = os.Environ()
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	redistest.Eventually(p.tb, 20*time.Second, "the gateway process to serve", func() bool {
		resp, err := http.Get(p.Base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// Kill stops the process at once (SIGKILL): nothing it held in memory
// survives, and nothing it was doing finishes.
func (p *process) Kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_, _ = cmd.Process.Wait()
	}
}

// Pid is the process's id.
func (p *process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Restart starts the process again with the same environment.
func (p *process) Restart() {
	p.tb.Helper()
	p.Kill()
	p.start()
}

// answer is an HTTP answer, or the error that stood for one.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

func (a answer) String() string {
	if a.Err != nil {
		return a.Err.Error()
	}
	return fmt.Sprintf("%d %s", a.Status, a.Body)
}

// code is the first error code of a contract error body.
func (a answer) code() string {
	var e struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	if json.Unmarshal(a.Body, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// post sends one Akinon call as Akinon does. A connection that breaks
// (the gateway was killed) is an answer with Err, not a test failure.
func post(base, path string, body any) answer {
	b, _ := json.Marshal(body)
	return postRaw(base, path, b)
}

func postRaw(base, path string, b []byte) answer {
	req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(testUser, testPassword)
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return answer{Err: err}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: out, Err: err}
}

// books opens the sandbox bank's books as the gateway does (prefix sbx)
// on a Redis URL, for the audit and for watching what the bank did.
func books(tb testing.TB, url string) (*sandbox.Processor, *redis.Client) {
	tb.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	tb.Cleanup(func() { rdb.Close() })
	return sandbox.New(rdb, sandbox.Options{}), rdb
}

// storeAt opens the gateway's store (prefix gw) on a REDIS_URL of any
// form the gateway reads, with its number of shards.
func storeAt(tb testing.TB, url string, shards int) *redisstore.Store {
	tb.Helper()
	opts, err := redisOptions(url)
	if err != nil {
		tb.Fatal(err)
	}
	rdb := redis.NewUniversalClient(opts)
	tb.Cleanup(func() { rdb.Close() })
	return redisstore.New(rdb, "gw", shards)
}

// mustAudit runs the ledger audit over the gateway's store (prefix gw,
// one shard) and the bank's books, and fails on any difference.
func mustAudit(tb testing.TB, storeURL, booksURL string, slack time.Duration) audit.Report {
	tb.Helper()
	return mustAuditShards(tb, storeURL, 1, booksURL, slack)
}

func mustAuditShards(tb testing.TB, storeURL string, shards int, booksURL string, slack time.Duration) audit.Report {
	tb.Helper()
	bank, _ := books(tb, booksURL)
	rep, err := audit.Run(context.Background(), storeAt(tb, storeURL, shards), bank, time.Now(), slack)
	if err != nil {
		tb.Fatal(err)
	}
	if len(rep.Differences) > 0 {
		tb.Fatalf("the ledger audit found %d differences:\n%v", len(rep.Differences), rep.Differences)
	}
	return rep
}

// waitSettled waits until nothing is in doubt in the gateway's store.
func waitSettled(tb testing.TB, storeURL string, within time.Duration) time.Duration {
	tb.Helper()
	return waitSettledShards(tb, storeURL, 1, within)
}

func waitSettledShards(tb testing.TB, storeURL string, shards int, within time.Duration) time.Duration {
	tb.Helper()
	st := storeAt(tb, storeURL, shards)
	start := time.Now()
	redistest.Eventually(tb, within, "everything in doubt to be settled", func() bool {
		ds, err := st.Doubts(context.Background())
		return err == nil && len(ds) == 0
	})
	return time.Since(start)
}

// shop is the shopper's browser on the hosted page, reporting a broken
// connection (the gateway was killed) as an answer with Err.
func shop(redirect, card string) answer {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func() answer {
		resp, err := c.Get(redirect)
		if err != nil {
			return answer{Err: err}
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
	}
	page := get()
	if page.Err != nil {
		return page
	}
	m := csrfRE.FindSubmatch(page.Body)
	if m == nil {
		return answer{Err: fmt.Errorf("no card form on the page (%d)", page.Status)}
	}
	form := url.Values{"_csrf": {string(m[1])}, "cardHolder": {"Ada Lovelace"}, "cardNumber": {card},
		"expiry": {"12/39"}, "cvc": {"123"}, "installment": {"1"}}
	resp, err := c.PostForm(redirect, form)
	if err != nil {
		return answer{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
}

// doubts reads the operator's list of what is in doubt.
func doubts(tb testing.TB, base string) []struct {
	Kind, Action, OrderID, GUID, SessionID string
	AgeSeconds                             float64
	Overdue                                bool
} {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/admin/doubts", nil)
	req.SetBasicAuth("ops", "ops-password-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if c, err := openapicheck.Shared(); err != nil {
		tb.Fatal(err)
	} else if err := c.Check(req, nil, resp.StatusCode, resp.Header, body); err != nil {
		tb.Errorf("openapi.json: %v", err)
	}
	var out struct {
		InDoubt []struct {
			Kind, Action, OrderID, GUID, SessionID string
			AgeSeconds                             float64
			Overdue                                bool
		}
	}
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /admin/doubts: %d %v", resp.StatusCode, err)
	}
	return out.InDoubt
}

// page fetches a hosted page as a new browser would.
func page(u string) answer {
	resp, err := http.Get(u)
	if err != nil {
		return answer{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
}

// faultEnv is a gateway environment with short leases, so a test sees the
// reconciler settle within seconds, and the bank's books on a Redis of
// their own (a bank does not live in the gateway's store).
func faultEnv(tb testing.TB, storeURL, booksURL, hookURL string, extra map[string]string) map[string]string {
	tb.Helper()
	env := gatewayEnv(freeAddr(tb), storeURL, hookURL, map[string]string{
		"SANDBOX_REDIS_URL":      booksURL,
		"REQUEST_LEASE":          "4s",
		"PROCESSOR_TIMEOUT":      "1s",
		"FINISH_RETRY":           "500ms",
		"RECONCILE_MARGIN":       "1s",
		"RECONCILE_INTERVAL":     "200ms",
		"READY_INTERVAL":         "200ms",
		"WEBHOOK_RETRY_SCHEDULE": "0s,200ms,500ms,1s,2s,5s",
		"WEBHOOK_TIMEOUT":        "1s",
		"ADMIN_USERNAME":         "ops",
		"ADMIN_PASSWORD":         "ops-password-123",
		"LOG_LEVEL":              "error",
	})
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// settleWithin is how long a fault test waits for the reconciler after
// the fault: the lease, the margin and the interval of faultEnv, and
// slack for a loaded machine.
const settleWithin = 4*time.Second + time.Second + 200*time.Millisecond + 10*time.Second

func regexpMust(expr string) *regexp.Regexp { return regexp.MustCompile(expr) }

func mustMarshal(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
