package provider_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/provider"
)

// TestReturnURL: what a returnUrl may be, and the form the hosted page
// posts to and names in its Content-Security-Policy.
func TestReturnURL(t *testing.T) {
	open := &provider.Merchant{ID: "open"}
	listed := &provider.Merchant{ID: "listed", ReturnHosts: []string{"shop.example", "çiçek.example"}}
	tests := []struct {
		name     string
		m        *provider.Merchant
		raw      string
		insecure bool
		want     string // "" when refused
		origin   string
	}{
		{"https", open, "https://shop.example/orders/return?x=1#top", false, "https://shop.example/orders/return?x=1#top", "https://shop.example"},
		{"with a port", open, "https://shop.example:8443/r", false, "https://shop.example:8443/r", "https://shop.example:8443"},
		{"a single label", open, "http://localhost:9000/r", true, "http://localhost:9000/r", "http://localhost:9000"},
		{"IPv4", open, "https://203.0.113.9/r", false, "https://203.0.113.9/r", "https://203.0.113.9"},
		{"upper case", open, "https://Shop.EXAMPLE/r", false, "https://shop.example/r", "https://shop.example"},
		{"a zero-padded port", open, "https://shop.example:0443/r", false, "https://shop.example:443/r", "https://shop.example:443"},
		{"Unicode", open, "https://çiçek.example/sipariş?x=ş", false, "https://xn--iek-1lab.example/sipari%C5%9F?x=ş", "https://xn--iek-1lab.example"},
		{"Unicode escaped", open, "https://%C3%A7i%C3%A7ek.example/r", false, "https://xn--iek-1lab.example/r", "https://xn--iek-1lab.example"},
		{"punycode", open, "https://xn--iek-1lab.example/r", false, "https://xn--iek-1lab.example/r", "https://xn--iek-1lab.example"},
		{"full-width letters", open, "https://ｓｈｏｐ.example/r", false, "https://shop.example/r", "https://shop.example"},
		{"an allowed Unicode host as punycode", listed, "https://xn--iek-1lab.example/r", false, "https://xn--iek-1lab.example/r", "https://xn--iek-1lab.example"},
		{"an allowed host in other case", listed, "https://SHOP.example/r", false, "https://shop.example/r", "https://shop.example"},

		{"http outside development", open, "http://shop.example/r", false, "", ""},
		{"relative", open, "/orders/return", false, "", ""},
		{"javascript", open, "javascript:alert(1)", false, "", ""},
		{"credentials", open, "https://user:pw@shop.example/r", false, "", ""},
		{"a host with ;", open, "https://shop.example;script-src/r", false, "", ""},
		{"a host with ,", open, "https://shop.example,evil.example/r", false, "", ""},
		{`a host with "`, open, `https://shop"example/r`, false, "", ""},
		{"a host with < >", open, "https://shop<b>.example/r", false, "", ""},
		{"a host with an escaped ;", open, "https://shop.example%3bx/r", false, "", ""},
		{"a host with an escaped space", open, "https://shop%20example/r", false, "", ""},
		{"a host with _", open, "https://my_shop.example/r", false, "", ""},
		{"a host with * and =", open, "https://*.example/r", false, "", ""},
		{"an empty label", open, "https://shop..example/r", false, "", ""},
		{"a trailing dot", open, "https://shop.example./r", false, "", ""},
		{"a leading hyphen", open, "https://-shop.example/r", false, "", ""},
		{"a label of 64", open, "https://" + strings.Repeat("a", 64) + ".example/r", false, "", ""},
		{"bad punycode", open, "https://xn--zz.example/r", false, "", ""},
		{"a numeric last label", open, "https://shop.123/r", false, "", ""},
		{"a hex last label", open, "https://shop.0x1f/r", false, "", ""},
		{"IPv4 with leading zeros", open, "https://010.0.0.1/r", false, "", ""},
		{"IPv6", open, "https://[2001:db8::1]/r", false, "", ""},
		{"IPv6 with a zone", open, "https://[fe80::1%25eth0]/r", false, "", ""},
		{"port 0", open, "https://shop.example:0/r", false, "", ""},
		{"port 65536", open, "https://shop.example:65536/r", false, "", ""},
		{"an empty port", open, "https://shop.example:/r", false, "", ""},
		{"a host not listed", listed, "https://evil.example/r", false, "", ""},
		{"a look-alike of a listed host", listed, "https://shop.example.evil.example/r", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.ReturnURL(tt.raw, tt.insecure)
			if tt.want == "" {
				var pe *provider.Error
				if err == nil || !errors.As(err, &pe) || pe.Field != "returnUrl" || pe.Code != provider.CodeInvalidField {
					t.Fatalf("ReturnURL(%q) = %q, %v; want it refused on returnUrl", tt.raw, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ReturnURL(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
			if origin, ok := provider.ReturnOrigin(got); !ok || origin != tt.origin {
				t.Fatalf("ReturnOrigin(%q) = %q, %v; want %q", got, origin, ok, tt.origin)
			}
		})
	}
}
