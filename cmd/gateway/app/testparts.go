package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// testPart is a part running that stands in for a production one: the
// configuration line, /readyz, the console header and a metric name it,
// so nobody mistakes the gateway for a production one.
type testPart struct {
	name    string // the metric's label: sandbox, embedded_store
	warning string
}

// testParts lists what of cfg is not for production: the embedded store
// and the sandbox bank (for which merchants).
func testParts(cfg Config, merchants *extension.Merchants) []testPart {
	var parts []testPart
	if cfg.Store.URL == "" {
		parts = append(parts, testPart{"embedded_store",
			"EMBEDDED IN-MEMORY STORE: nothing survives a restart (REDIS_URL is not set)"})
	}
	var onSandbox []string
	for _, m := range merchants.All() {
		if slices.Contains(m.Processors, sandbox.Name) {
			onSandbox = append(onSandbox, m.ID)
		}
	}
	if len(onSandbox) > 0 {
		parts = append(parts, testPart{"sandbox", fmt.Sprintf(
			"SANDBOX BANK takes the payments of merchant %s: it approves test cards and moves no money",
			strings.Join(onSandbox, ", "))})
	}
	return parts
}

func partNames(parts []testPart) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.name
	}
	return out
}

func partWarnings(parts []testPart) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.warning
	}
	return out
}
