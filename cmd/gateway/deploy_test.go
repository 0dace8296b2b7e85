package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"github.com/akinon-gateway/gateway/cmd/gateway/app"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// The documented ways to start the gateway, each started for real: the
// built binary with exactly the environment the document gives (its
// placeholders "…" filled with fresh secrets), on a redis-server
// configured as the document configures it. Only what a container or a
// host would provide is substituted: the Redis service's address and a
// free port for the listener, whose public URL a test reaches through
// the listener as a proxy would.

// composeFile is what the test reads of compose.yaml.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Restart     string            `yaml:"restart"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
}

// TestComposeStarts: compose.yaml's documented commands (its header's
// exports), its gateway environment, the Dockerfile's runtime settings and
// a redis-server with compose's arguments: -check-config (compose's check
// service) passes, the gateway becomes ready and takes one payment.
func TestComposeStarts(t *testing.T) {
	raw, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(raw, &cf); err != nil {
		t.Fatal(err)
	}
	shell := documentedExports(t, string(raw), "#")
	gw, check, rds := cf.Services["gateway"], cf.Services["check"], cf.Services["redis"]
	if gw.DependsOn["check"].Condition != "service_completed_successfully" || strings.Join(check.Command, " ") != "-check-config" {
		t.Fatalf("the gateway does not wait for a check service running -check-config: %+v", gw.DependsOn)
	}
	if check.Restart != "no" {
		t.Errorf("the check service restarts (%q): a refused configuration would loop", check.Restart)
	}
	image := dockerRuntime(t)
	if len(gw.Ports) != 1 || !strings.HasSuffix(gw.Ports[0], ":"+image.expose) {
		t.Fatalf("compose publishes %v; the image exposes %s", gw.Ports, image.expose)
	}
	env := map[string]string{}
	for k, v := range image.env {
		env[k] = v
	}
	for k, v := range gw.Environment {
		env[k] = interpolate(t, v, shell)
	}

	if len(rds.Command) == 0 || rds.Command[0] != "redis-server" {
		t.Fatalf("the redis service's command %v is not redis-server", rds.Command)
	}
	redisSrv := redistest.Start(t, redistest.Args(rds.Command[1:]...))
	u, err := url.Parse(env["REDIS_URL"])
	if err != nil || u.Hostname() != "redis" {
		t.Fatalf("REDIS_URL %q does not name the redis service", env["REDIS_URL"])
	}
	u.Host = redisSrv.Addr // the service name, resolved
	env["REDIS_URL"] = u.String()
	env["ADDR"] = freeAddrOnPort(t, image.expose) // the container's port, published

	d := deploy(t, env, image.args)
	d.payOnce(t, shell["GATEWAY_USERNAME"], shell["GATEWAY_PASSWORD"])
}

// TestREADMEProductionExampleStarts: the README's production example
// (its exports, on a Redis with the password it names) passes
// -check-config, becomes ready and takes one payment.
func TestREADMEProductionExampleStarts(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(raw), "<!-- production example: cmd/gateway/deploy_test.go starts it -->\n```sh\n")
	if !ok {
		t.Fatal("README.md has no production example")
	}
	block, _, _ = strings.Cut(block, "```")
	env := documentedExports(t, block, "")
	if !strings.Contains(block, "gateway -check-config") {
		t.Errorf("the production example does not run -check-config first:\n%s", block)
	}
	u, err := url.Parse(env["REDIS_URL"])
	if err != nil {
		t.Fatalf("REDIS_URL %q: %v", env["REDIS_URL"], err)
	}
	pass, _ := u.User.Password()
	// As the example asks of its Redis: AOF on, never evicting.
	redisSrv := redistest.Start(t, redistest.Args("--appendonly", "yes", "--maxmemory-policy", "noeviction"))
	if err := redisSrv.Client(t).ConfigSet(context.Background(), "requirepass", pass).Err(); err != nil {
		t.Fatal(err)
	}
	u.Host = redisSrv.Addr
	env["REDIS_URL"] = u.String()
	env["ADDR"] = gatewaytest.FreeAddr(t)
	d := deploy(t, env, nil)
	d.payOnce(t, env["GATEWAY_USERNAME"], env["GATEWAY_PASSWORD"])
}

// documentedExports reads the `export NAME=VALUE` lines of a document
// (after the comment marker prefix, if any), with each "…" a new secret.
func documentedExports(t *testing.T, text, prefix string) map[string]string {
	t.Helper()
	env := map[string]string{}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `\s*export\s+(.*)$`)
	for _, line := range strings.Split(text, "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		words, _, _ := strings.Cut(m[1], "#")
		for _, w := range strings.Fields(words) {
			name, value, ok := strings.Cut(w, "=")
			if !ok {
				t.Fatalf("%q: not NAME=VALUE", w)
			}
			if value == "…" {
				value = newSecret(t)
			}
			env[name] = value
		}
	}
	if len(env) == 0 {
		t.Fatal("no export lines")
	}
	return env
}

func newSecret(t *testing.T) string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// interpolate expands compose's ${NAME}, ${NAME:-default} and
// ${NAME:?message} from shell; a required variable unset fails the test
// with compose's message.
func interpolate(t *testing.T, v string, shell map[string]string) string {
	t.Helper()
	re := regexp.MustCompile(`\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}`)
	return re.ReplaceAllStringFunc(v, func(ref string) string {
		m := re.FindStringSubmatch(ref)
		val := shell[m[1]]
		switch {
		case val != "":
			return val
		case m[2] == "-":
			return m[3]
		case m[2] == "?":
			t.Fatalf("compose refuses to start: %s", m[3])
		}
		return ""
	})
}

// image is the Dockerfile's runtime stage as the test reads it.
type image struct {
	env    map[string]string
	expose string
	args   []string // after the entrypoint, the binary
}

// dockerRuntime reads the last stage of the Dockerfile: ENV, EXPOSE, USER
// (which must not be root) and the entrypoint running the gateway.
func dockerRuntime(t *testing.T) image {
	t.Helper()
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	img := image{env: map[string]string{}}
	var user string
	var entry, cmd []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		instr, rest, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			img, user, entry, cmd = image{env: map[string]string{}}, "", nil, nil
		case "ENV":
			k, v, ok := strings.Cut(rest, "=")
			if !ok {
				k, v, _ = strings.Cut(rest, " ")
			}
			img.env[k] = strings.Trim(v, `"`)
		case "EXPOSE":
			img.expose, _, _ = strings.Cut(rest, "/")
		case "USER":
			user = rest
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &entry); err != nil {
				t.Fatalf("ENTRYPOINT %s: not the exec form: %v", rest, err)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(rest), &cmd); err != nil {
				t.Fatalf("CMD %s: not the exec form: %v", rest, err)
			}
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("the image runs as %q: want a user that is not root", user)
	}
	if len(entry) == 0 || entry[0] != "/gateway" || img.expose == "" {
		t.Fatalf("the image's entrypoint %v or port %q is not the gateway's", entry, img.expose)
	}
	img.args = append(entry[1:], cmd...)
	return img
}

// freeAddrOnPort is a free loopback address standing for a container's
// port: a test cannot take the port itself on a shared machine.
func freeAddrOnPort(t *testing.T, port string) string {
	t.Helper()
	if def := app.DefaultConfig().Addr; !strings.HasSuffix(def, ":"+port) {
		t.Fatalf("the image exposes %s but the gateway listens on %s by default", port, def)
	}
	return gatewaytest.FreeAddr(t)
}

// deployment is a gateway binary started as a document says.
type deployment struct {
	base   string // where the test reaches the listener
	public string // PUBLIC_URL, which the test reaches through base
	out    *syncBuffer
}

// deploy runs -check-config and then the gateway with exactly env (no
// variable of the test's own environment), and waits until it is ready.
func deploy(t *testing.T, env map[string]string, args []string) *deployment {
	t.Helper()
	bin := gatewaytest.Binary(t)
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	check := exec.Command(bin, append(append([]string{}, args...), "-check-config")...)
	check.Env, check.Dir = envList, t.TempDir()
	out, err := check.CombinedOutput()
	if err != nil {
		t.Fatalf("-check-config: %v\n%s", err, out)
	}
	t.Logf("-check-config:\n%s", out)

	d := &deployment{base: "http://" + env["ADDR"], public: env["PUBLIC_URL"], out: &syncBuffer{}}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Dir = envList, t.TempDir()
	cmd.Stdout, cmd.Stderr = d.out, d.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(25 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("the gateway's output:\n%s", d.out.String())
		}
	})
	redistest.Eventually(t, 20*time.Second, "the gateway to be ready", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("the gateway exited: %v\n%s", err, d.out.String())
		default:
		}
		resp, err := http.Get(d.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return d
}

// local is u (under PUBLIC_URL) reached through the listener.
func (d *deployment) local(u string) string {
	if rest, ok := strings.CutPrefix(u, strings.TrimRight(d.public, "/")); ok {
		return d.base + rest
	}
	return u
}

// call is Akinon calling one of the five endpoints.
func (d *deployment) call(t *testing.T, user, pass, path string, body map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, d.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, raw)
	}
	return out
}

// payOnce is one payment: a session, the shopper paying by card on the
// hosted page, Akinon's purchase and history.
func (d *deployment) payOnce(t *testing.T, user, pass string) (order string) {
	t.Helper()
	order = "deploy-" + newSecret(t)[:8]
	start := d.call(t, user, pass, "/start-session", map[string]any{
		"version": "1", "guid": order + "-start", "orderId": order, "orderAmount": 100.5, "locale": "en",
		"returnUrl": "https://shop.example.com/return", "type": "SALE", "currency": "TRY",
		"customer": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
	})
	redirect, _ := start["redirectUrl"].(string)
	if !strings.HasPrefix(redirect, strings.TrimRight(d.public, "/")+"/pay/") {
		t.Fatalf("redirectUrl %q is not under PUBLIC_URL %s", redirect, d.public)
	}
	returned := payByCardAt(t, d.local(redirect), "4242424242424242")
	if !strings.Contains(returned, `value="RESOLVED"`) {
		t.Fatalf("the hosted page did not gatewaytest.Answer a RESOLVED return POST:\n%s", returned)
	}
	if got := d.call(t, user, pass, "/purchase", map[string]any{"version": "1", "guid": order + "-purchase", "orderId": order}); got["status"] != "RESOLVED" {
		t.Fatalf("purchase: %v", got)
	}
	hist := d.call(t, user, pass, "/history", map[string]any{"version": "1", "guid": order + "-history", "orderId": order})
	if hist["status"] != "RESOLVED" || hist["balance"] != 100.5 {
		t.Fatalf("history: %v", hist)
	}
	t.Logf("order %s paid, purchased: balance %v", order, hist["balance"])
	return order
}

// payByCardAt is a browser on the hosted page: its anti-forgery cookie is
// sent back whatever the scheme (an https PUBLIC_URL makes it Secure),
// with the Sec-Fetch-Site a browser sends.
func payByCardAt(t *testing.T, page, card string) string {
	t.Helper()
	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form, err := gatewaytest.CardForm(body, card)
	if err != nil {
		t.Fatalf("%d: %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest(http.MethodPost, page, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range resp.Cookies() {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return string(out)
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
