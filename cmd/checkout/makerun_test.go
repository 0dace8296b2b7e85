package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
)

// TestMakeRunOnAnotherAddr: `make run` with ADDR changed (and nothing
// else but docs/checkout.md's webhook settings) serves its hosted page on
// the new address, since in DEV_MODE PUBLIC_URL follows ADDR, and the
// driver, pointed at it with -gateway, passes every scenario.
func TestMakeRunOnAnotherAddr(t *testing.T) {
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	recipe := regexp.MustCompile(`(?m)^run:\n\t(.*)$`).FindStringSubmatch(string(makefile))
	if recipe == nil || !strings.Contains(recipe[1], "DEV_MODE=$${DEV_MODE-1}") || strings.Contains(recipe[1], "PUBLIC_URL") {
		t.Fatalf("make run's recipe %q: the test starts the gateway with DEV_MODE=1 and no PUBLIC_URL", recipe)
	}
	bin := mustBuild(t)
	shop := gatewaytest.FreeAddr(t)
	gw := mustStartGateway(t, map[string]string{
		"PUBLIC_URL":            "", // unset, as under make run
		"WEBHOOK_URL":           "http://" + shop + commerce.PathWebhook,
		"WEBHOOK_HASH_KEY":      e2eWebhookKey,
		"SANDBOX_PENDING_DELAY": "2s",
	})
	out, code := runDriver(t, bin.checkout, "-gateway", gw, "-listen", shop, "-webhook-hash-key", e2eWebhookKey)
	if code != 0 {
		t.Fatalf("the driver against make run on %s: exit %d", gw, code)
	}
	wantLine(t, out, fmt.Sprintf("%d passed, 0 failed", len(allScenarios())))
}
