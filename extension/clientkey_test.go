package extension_test

import (
	"testing"

	"github.com/akinon-gateway/gateway/extension"
)

// TestClientKey: IPv4 addresses are clients by themselves; IPv6 ones by
// their prefix, so the 2^64 addresses of one subscriber's /64 are one
// client.
func TestClientKey(t *testing.T) {
	tests := []struct {
		addr   string
		prefix int
		want   string
	}{
		{"203.0.113.7", 64, "203.0.113.7"},
		{"::ffff:203.0.113.7", 64, "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", 64, "2001:db8:1:3::/64"},
		{"2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::/56"},
		{"2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::/48"},
		{"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"},
		{"2001:db8:1:2:3:4:5:6", 0, "2001:db8:1:2:3:4:5:6"},
		{"fe80::1%lo", 64, "fe80::/64"},
		{"::1", 64, "::/64"},
		{"not an address", 64, "not an address"},
		{"", 64, ""},
	}
	for _, tt := range tests {
		if got := extension.ClientKey(tt.addr, tt.prefix); got != tt.want {
			t.Errorf("ClientKey(%q, %d) = %q, want %q", tt.addr, tt.prefix, got, tt.want)
		}
	}
}
