package extension

import (
	"net/netip"

	"github.com/labstack/echo/v4"
)

// ClientKey is the client an address stands for in per-address budgets
// and connection caps: an IPv4 address (or an IPv4-mapped IPv6 one) as
// itself, an IPv6 address by its first ipv6Prefix bits, written as the
// prefix (0 or 128: the whole address). What does not parse is its own key.
func ClientKey(addr string, ipv6Prefix int) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() || ipv6Prefix <= 0 || ipv6Prefix >= 128 {
		return a.WithZone("").String()
	}
	p, err := a.WithZone("").Prefix(ipv6Prefix)
	if err != nil {
		return addr
	}
	return p.String()
}

// clientKey is ClientKey of the request's client (the peer, or what a
// trusted proxy says it is).
func (s *Server) clientKey(c echo.Context) string { return ClientKey(c.RealIP(), s.ipv6Prefix) }
