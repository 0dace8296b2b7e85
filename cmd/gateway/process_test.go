package main

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider/audit"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// The tests of this package boot the real program through gatewaytest:
// in this process (Start, Run), or as a process of its own that a test
// kills with SIGKILL (StartProcess). Both end, where money moved, with
// the ledger audit (mustAudit).

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
	opts, err := redisstore.Options(url)
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

// doubts reads the operator's list of what is in doubt.
func doubts(tb testing.TB, base string) []struct {
	Kind, Action, OrderID, GUID, SessionID string
	AgeSeconds                             float64
	Overdue                                bool
} {
	tb.Helper()
	var out struct {
		InDoubt []struct {
			Kind, Action, OrderID, GUID, SessionID string
			AgeSeconds                             float64
			Overdue                                bool
		}
	}
	op := gatewaytest.Operator{Base: base, User: "ops", Password: "ops-password-123"}
	if status := op.Call(tb, http.MethodGet, "/admin/doubts", &out); status != http.StatusOK {
		tb.Fatalf("GET /admin/doubts: %d", status)
	}
	return out.InDoubt
}

// page fetches a hosted page as a new browser would.
func page(u string) gatewaytest.Answer {
	resp, err := http.Get(u)
	if err != nil {
		return gatewaytest.Answer{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return gatewaytest.Answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
}

// faultEnv is a gateway environment with short leases, so a test sees the
// reconciler settle within seconds, and the bank's books on a Redis of
// their own (a bank does not live in the gateway's store).
func faultEnv(tb testing.TB, storeURL, booksURL, hookURL string, extra map[string]string) map[string]string {
	tb.Helper()
	faults := map[string]string{
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
	}
	maps.Copy(faults, extra)
	return gatewaytest.Env(gatewaytest.FreeAddr(tb), storeURL, hookURL, faults)
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

func TestMain(m *testing.M) { gatewaytest.Main(m) }
