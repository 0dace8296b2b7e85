package webhook

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// A webhook URL is the merchant's, but the gateway makes the request from
// inside the payment company's network: a URL on a loopback, private or
// link-local address (the cloud's metadata service at 169.254.169.254, an
// internal admin port) would let whoever sets it reach what the internet
// cannot. Such targets are refused outside DEV_MODE unless
// WEBHOOK_ALLOW_PRIVATE=1 — at start, and again at every connection, on
// the address actually dialled, so a name that resolves to a public
// address at start and to a private one later (DNS rebinding) is still
// refused.

// blocked are the ranges Go's net.IP predicates do not name.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT, some clouds' metadata
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64 to anything above
}

// PrivateAddress reports why an address may not be a webhook target, or
// "" if it may.
func PrivateAddress(ip net.IP) string {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return "not an address"
	}
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate():
		return "private"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "link-local"
	case addr.IsUnspecified(), addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "not a unicast address"
	}
	for _, p := range blocked {
		if p.Contains(addr) {
			return "reserved"
		}
	}
	return ""
}

// CheckTarget refuses a webhook URL whose host is, or resolves to, an
// address PrivateAddress refuses. A name that does not resolve now is
// let through: the dialer checks every connection.
func CheckTarget(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	host := u.Hostname()
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		ips, _ = net.DefaultResolver.LookupIP(ctx, "ip", host)
	}
	for _, ip := range ips {
		if why := PrivateAddress(ip); why != "" {
			return fmt.Errorf("%s is a %s address (%s): webhooks to internal addresses are refused outside DEV_MODE unless WEBHOOK_ALLOW_PRIVATE=1", host, why, ip)
		}
	}
	return nil
}

// guarded makes the transport refuse every connection to an address
// PrivateAddress refuses.
func guarded(t *http.Transport) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if why := PrivateAddress(net.ParseIP(host)); why != "" {
				return fmt.Errorf("webhook target %s is a %s address", host, why)
			}
			return nil
		}}
	t.DialContext = d.DialContext
}

// ownTransport gives c a copy of its transport (Go's default when it has
// none) for the sender to set, and returns it; nil when the transport is
// not an *http.Transport, which is then left as it is, unpooled and
// unguarded (the gateway passes none: its sender gets Go's default).
func ownTransport(c *http.Client) *http.Transport {
	t, ok := http.DefaultTransport.(*http.Transport)
	if c.Transport != nil {
		t, ok = c.Transport.(*http.Transport)
	}
	if !ok {
		return nil
	}
	t = t.Clone()
	c.Transport = t
	return t
}
