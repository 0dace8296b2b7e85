package layers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/akinon-gateway/gateway/"

// The layers of docs/architecture.md. A package not listed here fails the
// test until it is given its place.
const (
	library = "library" // shared by every layer; imports nothing of the module
	domain  = "domain"  // the payment's rules and the ports it needs
	adapter = "adapter" // one outside thing (HTTP, Redis, a bank, webhooks…) for the domain
	tool    = "tool"    // a checker of the adapter it lives in
	// registry builds the adapters under it from configuration: a
	// command's wiring of one kind of adapter (the processors), kept
	// beside them so adding one touches one package and one line.
	registry = "registry"
	testkit  = "testkit" // what tests start (a redis-server); imports nothing of the module
	command  = "command" // composes the rest into a program
	// root is the production assembly a command calls: it wires every
	// adapter, so a test can boot the program the command runs.
	root = "root"
	// gatewaykit is the one way a test gets a gateway: the root, started
	// in process or as a process, with its clients.
	gatewaykit = "gatewaykit"
	// client is the gateway seen from outside, shared by the checkout
	// driver and the gateway kit: Akinon Commerce's calls and shop, the
	// hosted page as a shopper reads it, the browser a shopper drives.
	client = "client"
)

var layerOf = map[string]string{
	"hashing":                       library,
	"idempotency":                   library,
	"provider":                      domain,
	"provider/redisstore":           adapter,
	"provider/processors":           registry,
	"provider/settings":             library,
	"provider/processortest":        tool, // the conformance kit: domain only
	"cmd/nestpaybank":               command,
	"provider/audit":                adapter,
	"extension":                     adapter,
	"extension/webhook":             adapter,
	"extension/observe":             adapter,
	"extension/openapicheck":        tool,
	"provider/redisstore/redistest": testkit,
	"extension/observe/otlptest":    testkit,
	"cmd/gateway":                   command,
	"cmd/gateway/app":               root,
	"cmd/gateway/gatewaytest":       gatewaykit,
	"cmd/checkout":                  command,
	"cmd/checkout/chromium":         client,
	"cmd/checkout/commerce":         client,
	"cmd/checkout/hostedpage":       client,
	"cmd/layers":                    command,
	"cmd/benchload":                 command,
	"cmd/benchjobs":                 command,
}

// notIn are what a package must not know: the domain no HTTP, Redis or
// logger; the HTTP adapter no Redis (it reaches it through the store's
// ports, provider.Budgets for its throttles).
var notIn = map[string]struct {
	imports []string
	why     string
}{
	"provider": {[]string{"net/http", "github.com/labstack/echo", "github.com/redis/go-redis",
		"github.com/go-redis/redis_rate", "github.com/alicebob/miniredis", "go.uber.org/zap"},
		"the domain knows no HTTP, Redis or logger"},
	"extension": {[]string{"github.com/redis/go-redis", "github.com/go-redis/redis_rate", "github.com/alicebob/miniredis"},
		"the HTTP adapter reaches Redis only through the store's ports"},
}

// knows says whether imp is one of the packages listed, or below one.
func knows(listed []string, imp string) bool {
	return slices.ContainsFunc(listed, func(x string) bool { return imp == x || strings.HasPrefix(imp, x+"/") })
}

// allowed says whether package from (in layer) may import the module's
// package to (in layer toLayer), and why not when it may not.
func allowed(from, layer, to, toLayer string) (bool, string) {
	switch layer {
	case client:
		return toLayer == library, "a client of the gateway knows only the shared libraries"
	case library, testkit:
		return false, "a " + layer + " imports nothing of the module"
	case domain:
		return toLayer == library, "the domain imports only the shared libraries"
	case adapter:
		return toLayer == library || toLayer == domain, "an adapter never imports another adapter: take what it needs from the domain, or declare the small interface it needs"
	case registry:
		return toLayer == library || toLayer == domain || toLayer == adapter && strings.HasPrefix(to, from+"/"),
			"a registry imports only the domain, the libraries and the adapters under it"
	case tool:
		return toLayer != command && (toLayer != adapter || strings.HasPrefix(from, to+"/")), "a tool imports only the adapter it checks"
	case command:
		return !strings.HasPrefix(to, "cmd/") || strings.HasPrefix(to, from+"/") || toLayer == client, "a command never imports another command"
	case root:
		return !strings.HasPrefix(to, "cmd/"), "the assembly imports no command and no test kit of a command"
	case gatewaykit:
		return !strings.HasPrefix(to, "cmd/") || toLayer == root || toLayer == client, "the gateway's test kit builds on the assembly and the clients alone"
	}
	return false, "unknown layer " + layer
}

type pkg struct {
	ImportPath string
	Imports    []string
}

// listed is every package of the module with its imports (tests' imports
// aside: a test may wire adapters together, as a command does).
func listed(t *testing.T) []pkg {
	t.Helper()
	goTool := "go"
	if g := os.Getenv("GO"); g != "" { // the Makefile's GO, as the e2e test reads it
		goTool = g
	}
	cmd := exec.Command(goTool, "list", "-json=ImportPath,Imports", module+"...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// layerAt is a package's layer: its row in layerOf, or, under
// provider/processors, the place a processor's package has by its path
// (the processor an adapter, its "…test" kit a test kit, anything else
// beside it, such as a fake bank, a tool), so adding a processor touches
// no row here.
func layerAt(path string) (string, bool) {
	if l, ok := layerOf[path]; ok {
		return l, true
	}
	rest, under := strings.CutPrefix(path, "provider/processors/")
	if !under || rest == "" {
		return "", false
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1:
		return adapter, true
	case strings.HasSuffix(parts[len(parts)-1], "test"):
		return testkit, true
	default:
		return tool, true
	}
}

func TestImportsFollowTheLayers(t *testing.T) {
	pkgs := listed(t)
	if len(pkgs) < len(layerOf)/2 {
		t.Fatalf("go list found %d packages: the test would prove little", len(pkgs))
	}
	for _, p := range pkgs {
		from := strings.TrimPrefix(p.ImportPath, module)
		layer, ok := layerAt(from)
		if !ok {
			t.Errorf("%s has no layer: give it one in layerOf and in docs/architecture.md", from)
			continue
		}
		for _, imp := range p.Imports {
			if n, ok := notIn[from]; ok && knows(n.imports, imp) {
				t.Errorf("%s imports %s: %s", from, imp, n.why)
			}
			to, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			toLayer, known := layerAt(to)
			if !known {
				continue // reported as the package itself
			}
			if ok, why := allowed(from, layer, to, toLayer); !ok {
				t.Errorf("%s (%s) imports %s (%s): %s", from, layer, to, toLayer, why)
			}
		}
	}
}

// TestTheRuleRefuses: each arrow the rule forbids is refused, so the test
// above can fail.
func TestTheRuleRefuses(t *testing.T) {
	for _, c := range []struct{ from, to string }{
		{"extension/webhook", "extension"},
		{"extension/observe", "extension/webhook"},
		{"provider/audit", "provider/redisstore"},
		{"provider/audit", "provider/processors/sandbox"},
		{"provider/processors", "provider/redisstore"},
		{"provider/processors/sandbox", "provider/processors"},
		{"provider/processors/nestpay", "provider/processors/sandbox"},
		{"provider/processors/nestpay/nestpaybank", "provider/processors/sandbox"},
		{"provider/redisstore", "provider/processors"},
		{"provider", "provider/redisstore"},
		{"provider", "extension"},
		{"idempotency", "provider"},
		{"extension/openapicheck", "provider/redisstore"},
		{"cmd/gateway", "cmd/checkout"},
		{"cmd/gateway/app", "cmd/gateway/gatewaytest"},
		{"cmd/gateway/app", "cmd/gateway"},
		{"cmd/gateway/gatewaytest", "cmd/checkout"},
		{"cmd/checkout/commerce", "cmd/gateway/gatewaytest"},
		{"cmd/checkout/commerce", "extension"},
	} {
		fromLayer, _ := layerAt(c.from)
		toLayer, _ := layerAt(c.to)
		if ok, _ := allowed(c.from, fromLayer, c.to, toLayer); ok {
			t.Errorf("%s may import %s, want refused", c.from, c.to)
		}
	}
	for _, c := range []struct{ from, imp string }{
		{"extension", "github.com/redis/go-redis/v9"},
		{"extension", "github.com/go-redis/redis_rate/v10"},
		{"provider", "github.com/redis/go-redis/v9"},
		{"provider", "net/http"},
	} {
		if !knows(notIn[c.from].imports, c.imp) {
			t.Errorf("%s may import %s, want refused", c.from, c.imp)
		}
	}
}
