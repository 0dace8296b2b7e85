package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/akinon-gateway/gateway/cmd/checkout/chromium"
	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
	"github.com/akinon-gateway/gateway/cmd/checkout/hostedpage"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/extension/openapicheck"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// The end-to-end tests boot the real parts: a redis-server, the gateway
// process and the checkout driver process (built with the race detector),
// on free ports. They run with `make e2e` (CHECKOUT_E2E=http) and
// `make e2e-browser` (CHECKOUT_E2E=browser, needs Chromium).

const (
	e2eHashKey    = "e2e-hash-key-0123456789abcdef0123456789"
	e2eWebhookKey = "e2e-webhook-key-0123456789abcdef01234567"
)

func TestE2E(t *testing.T) {
	mode := os.Getenv("CHECKOUT_E2E")
	switch mode {
	case "":
		t.Skip("set CHECKOUT_E2E=http or CHECKOUT_E2E=browser (make e2e, make e2e-browser)")
	case "http", "browser":
	default:
		t.Fatalf("CHECKOUT_E2E=%q: want http or browser", mode)
	}
	bin := mustBuild(t)
	// The two banks' suites run side by side: each waits out a SESSION_TTL
	// for its abandoned challenge.
	t.Run("3-D Secure through the fake NestPay bank", func(t *testing.T) {
		t.Parallel()
		testNestPay(t, bin, mode)
	})
	t.Run("the sandbox bank", func(t *testing.T) {
		t.Parallel()
		testSandbox(t, bin, mode)
	})
}

// testSandbox runs every scenario against a gateway paying through the
// sandbox bank: in Chromium (mode browser), or over HTTP with the
// recording, its replay, a load run and a gateway with another HASH_KEY.
func testSandbox(t *testing.T, bin binaries, mode string) {
	store := e2eStore(t)
	shopAddr := gatewaytest.FreeAddr(t)
	ttl := sessionTTL(mode)
	gw := mustStartGateway(t, mergeEnv(store, map[string]string{
		"HASH_KEY":               e2eHashKey,
		"WEBHOOK_URL":            "http://" + shopAddr + commerce.PathWebhook,
		"WEBHOOK_HASH_KEY":       e2eWebhookKey,
		"SANDBOX_PENDING_DELAY":  "2s",
		"SESSION_TTL":            ttl, // the abandoned 3-D Secure scenario waits for it
		"WEBHOOK_RETRY_SCHEDULE": "0s,1s,2s,5s",
	}))
	base := []string{"-gateway", gw, "-listen", shopAddr, "-hash-key", e2eHashKey,
		"-webhook-hash-key", e2eWebhookKey, "-webhook-wait", "30s", "-session-ttl", ttl}

	if mode == "browser" {
		t.Run("every scenario in Chromium", func(t *testing.T) { testBrowser(t, bin.checkout, base) })
		return
	}
	dir := t.TempDir()
	rec := filepath.Join(dir, "record.jsonl")

	t.Run("every scenario over HTTP", func(t *testing.T) {
		out, code := runDriver(t, bin.checkout, append(base, "-record", rec)...)
		if code != 0 {
			t.Fatalf("exit %d, want 0", code)
		}
		wantLine(t, out, fmt.Sprintf("%d passed, 0 failed", len(allScenarios())))
	})

	t.Run("the recording matches openapi.json", func(t *testing.T) {
		checkRecording(t, rec)
	})

	t.Run("replay of the recording is byte for byte", func(t *testing.T) {
		out, code := runDriver(t, bin.checkout, "replay", "-gateway", gw, rec)
		if code != 0 {
			t.Fatalf("exit %d, want 0", code)
		}
		wantLine(t, out, `^\d+ identical, 0 differ`)
	})

	t.Run("replay reports a changed answer", func(t *testing.T) {
		tampered := filepath.Join(dir, "tampered.jsonl")
		mustTamperRecording(t, rec, tampered)
		out, code := runDriver(t, bin.checkout, "replay", "-gateway", gw, tampered)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		wantLine(t, out, `^DIFF #\d+ /refund guid .*: body differs at byte \d+`)
		wantLine(t, out, `^\d+ identical, 1 differ`)
	})

	t.Run("load", func(t *testing.T) {
		out, code := runDriver(t, bin.checkout, append(base, "-n", "40", "-c", "8")...)
		if code != 0 {
			t.Fatalf("exit %d, want 0", code)
		}
		for _, step := range loadSteps {
			wantLine(t, out, `^`+step+`\s+40\s+0\s+\d`)
		}
		wantLine(t, out, `^40 checkouts in [\d.]+s: [\d.]+ checkouts/s \(8 at a time\), 0 failed`)
	})

	t.Run("a gateway with another HASH_KEY fails on the bad hash", func(t *testing.T) {
		other := mustStartGateway(t, mergeEnv(store, map[string]string{
			"HASH_KEY":    "another-hash-key-0123456789abcdef0123456",
			"WEBHOOK_URL": "",
		}))
		args := []string{"-gateway", other, "-listen", "127.0.0.1:0", "-hash-key", e2eHashKey, "-scenarios", "sale"}
		out, code := runDriver(t, bin.checkout, args...)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		wantLine(t, out, `^FAIL  sale`)
		wantLine(t, out, `the return POST was refused: bad hash`)
		wantLine(t, out, `^0 passed, 1 failed$`)
	})
}

// testBrowser runs every scenario in Chromium and then reads the DOM each
// checkout ended on, as saved by the driver.
func testBrowser(t *testing.T, checkout string, base []string) {
	if _, err := os.Stat(chromium.Path()); err != nil {
		t.Fatalf("Chromium is needed for CHECKOUT_E2E=browser (.ci/run installs it): %v", err)
	}
	out := t.TempDir()
	if keep := os.Getenv("CHECKOUT_E2E_OUT"); keep != "" {
		out = keep
	}
	reportFile := filepath.Join(t.TempDir(), "report.json")
	stdout, code := runDriver(t, checkout, append(base, "-browser", "-out", out, "-report", reportFile)...)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	wantLine(t, stdout, fmt.Sprintf("%d passed, 0 failed", len(allScenarios())))

	var rep report
	raw, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	thankYou, failed := 0, 0
	for _, s := range rep.Scenarios {
		for i, o := range s.Orders {
			if strings.HasPrefix(s.Name, "3ds-") {
				t.Logf("%s: pages %s; screenshots %s", s.Name, strings.Join(o.Pages, " → "), strings.Join(o.Screenshots, " "))
			}
			if s.Name == "3ds-abandoned" {
				// Left at the bank: no last page of the shop to read.
				continue
			}
			t.Run(fmt.Sprintf("%s/%d-%s", s.Name, i+1, o.Page), func(t *testing.T) {
				dom := mustParseDOM(t, o.FinalDOM)
				main := findElement(dom, func(n *html.Node) bool { return n.Data == "main" && hostedpage.Attr(n, "data-page") != "" })
				if main == nil {
					t.Fatalf("%s: no <main data-page>", o.FinalDOM)
				}
				if got := hostedpage.Attr(main, "data-page"); got != o.Page {
					t.Errorf("DOM page %q, report says %q", got, o.Page)
				}
				switch o.Page {
				case commerce.PageThankYou:
					thankYou++
					el := findElement(dom, func(n *html.Node) bool { return hostedpage.Attr(n, "id") == "order-number" })
					if el == nil {
						t.Fatalf("thank-you page without #order-number")
					}
					if got := strings.TrimSpace(hostedpage.Text(el)); got != o.Number {
						t.Errorf("thank-you page shows order %q, want %q", got, o.Number)
					}
				case commerce.PagePaymentOptionSelection:
					failed++
					if findElement(dom, func(n *html.Node) bool { return hostedpage.Attr(n, "id") == "errors" }) == nil {
						t.Errorf("declined payment back on %s without #errors", o.Page)
					}
				default:
					t.Errorf("ended on %q", o.Page)
				}
				if len(o.Screenshots) < 4 {
					t.Errorf("%d screenshots, want one per step (≥ 4): %v", len(o.Screenshots), o.Screenshots)
				}
				for _, p := range o.Screenshots {
					mustBePNG(t, p)
				}
			})
		}
	}
	if thankYou == 0 || failed == 0 {
		t.Errorf("%d thank-you pages and %d declined pages reached; want both kinds", thankYou, failed)
	}
}

// sessionTTL is the e2e gateways' SESSION_TTL: the abandoned challenges
// wait it out, and every other checkout must end within it, which a cold
// Chromium on a loaded machine takes longer to do than an HTTP client.
func sessionTTL(mode string) string {
	if mode == "browser" {
		return "20s"
	}
	return "10s"
}

type binaries struct{ checkout string }

// mustBuild builds the driver with -race, so the real runs also look for
// data races; the gateway's binary is gatewaytest's.
func mustBuild(t *testing.T) binaries {
	t.Helper()
	b := binaries{checkout: filepath.Join(t.TempDir(), "checkout")}
	c := []string{"build", "-race", "-o", b.checkout, "."}
	if out, err := exec.Command(goTool(), c...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(c, " "), err, out)
	}
	return b
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// e2eStore is the gateway's store for the run: a redis-server, or with
// E2E_TOPOLOGY=sentinel or cluster the README's configuration for those
// (every answer acknowledged by a replica; 16 hash-tag shards on a
// Cluster). The sandbox bank keeps its books on a Redis of its own.
func e2eStore(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{"SANDBOX_REDIS_URL": redistest.Start(t).URL()}
	switch topo := os.Getenv("E2E_TOPOLOGY"); topo {
	case "":
		env["REDIS_URL"] = redistest.Start(t).URL()
	case "sentinel":
		env["REDIS_URL"] = redistest.StartSentinel(t, redistest.Safe()).URL()
		env["REDIS_MIN_REPLICAS"] = "1"
	case "cluster":
		env["REDIS_URL"] = redistest.StartCluster(t, redistest.Safe()).URL()
		env["REDIS_MIN_REPLICAS"], env["REDIS_SHARDS"] = "1", "16"
	default:
		t.Fatalf("E2E_TOPOLOGY=%q: want sentinel or cluster", topo)
	}
	t.Logf("store: %s", env["REDIS_URL"])
	return env
}

func mergeEnv(base, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	maps.Copy(out, extra)
	return out
}

// mustStartGateway runs the gateway (gatewaytest's process) with
// DEV_MODE on a free port and waits until it is ready.
func mustStartGateway(t *testing.T, env map[string]string) string {
	t.Helper()
	addr := gatewaytest.FreeAddr(t)
	env = mergeEnv(map[string]string{"DEV_MODE": "1", "ADDR": addr, "PUBLIC_URL": "http://" + addr, "LOG_LEVEL": "warn"}, env)
	p := gatewaytest.StartProcess(t, env)
	gatewaytest.Eventually(t, 20*time.Second, "the gateway to be ready", func() bool {
		resp, err := http.Get(p.Base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p.Base
}

// runDriver runs the checkout binary to its end and returns its output
// and exit code. Output is logged; a data race fails the test.
func runDriver(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "GORACE=halt_on_error=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("checkout %s\n%s", strings.Join(args, " "), out.String())
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("checkout: %v", err)
	}
	if strings.Contains(out.String(), "WARNING: DATA RACE") {
		t.Errorf("the driver reported a data race")
	}
	return out.String(), code
}

// wantLine fails unless some line of out matches the pattern.
func wantLine(t *testing.T, out, pattern string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for _, line := range strings.Split(out, "\n") {
		if re.MatchString(strings.TrimRight(line, "\r")) {
			return
		}
	}
	t.Errorf("no line matches %q", pattern)
}

// mustTamperRecording copies a recording with one byte of the first
// successful refund's answer changed.
func mustTamperRecording(t *testing.T, from, to string) {
	t.Helper()
	records := mustReadRecords(t, from)
	done := false
	var buf bytes.Buffer
	for _, r := range records {
		if !done && r.Endpoint == commerce.EndpointRefund && r.Status == http.StatusOK {
			r.ResponseBody = strings.Replace(r.ResponseBody, `"RESOLVED"`, `"REJECTED"`, 1)
			done = true
		}
		b, _ := json.Marshal(r)
		buf.Write(append(b, '\n'))
	}
	if !done {
		t.Fatal("the recording has no successful refund")
	}
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustReadRecords reads the exchanges of a -record file.
func mustReadRecords(t *testing.T, path string) []commerce.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := commerce.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	return records
}

func mustParseDOM(t *testing.T, path string) *html.Node {
	t.Helper()
	if path == "" {
		t.Fatal("the driver saved no DOM for this checkout")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func findElement(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if found := findElement(c, match); found != nil {
			return found
		}
	}
	return nil
}

func mustBePNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 1000 {
		t.Errorf("%s is not a PNG screenshot (%d bytes)", path, len(b))
	}
}

// checkRecording holds every exchange of a -record file against the
// gateway's openapi.json (extension/openapicheck): the requests Commerce
// sent and the answers it got. The recording keeps no Authorization
// header; the driver sent the dev credentials, which are put back.
func checkRecording(t *testing.T, path string) {
	c, err := openapicheck.Load()
	if err != nil {
		t.Fatal(err)
	}
	records := mustReadRecords(t, path)
	if len(records) == 0 {
		t.Fatalf("%s holds no exchange", path)
	}
	for _, r := range records {
		if r.Error != "" {
			t.Errorf("#%d %s: no answer: %s", r.Seq, r.Endpoint, r.Error)
			continue
		}
		req, err := http.NewRequest(r.Method, "http://gateway.test"+r.Endpoint, strings.NewReader(r.RequestBody))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range r.RequestHeaders {
			req.Header.Set(k, v)
		}
		req.SetBasicAuth(devUsername, devPassword)
		header := http.Header{}
		for k, v := range r.ResponseHeaders {
			header.Set(k, v)
		}
		if err := c.Check(req, []byte(r.RequestBody), r.Status, header, []byte(r.ResponseBody)); err != nil {
			t.Errorf("#%d: %v", r.Seq, err)
		}
	}
	t.Logf("openapi.json: %s", c.Stats())
}

func TestMain(m *testing.M) { gatewaytest.Main(m) }
