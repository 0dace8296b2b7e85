package main

import (
	"testing"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// TestShopperPaysInChromium: the hosted page pays in a browser, its
// scripts running, and sends the shopper back with the payment's outcome.
func TestShopperPaysInChromium(t *testing.T) {
	browser := gatewaytest.NewChromium(t)
	base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), "", "", nil))
	_, redirect := gatewaytest.AkinonAt(base).StartSession(t, "o-chromium")
	back := browser.Pay(t, redirect, sandbox.CardApproved)
	if back.Get("orderId") != "o-chromium" || back.Get("status") != "RESOLVED" {
		t.Fatalf("returned to the shop with %v, want o-chromium RESOLVED", back)
	}
}
