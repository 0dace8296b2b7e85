package provider

import (
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// ReturnURL checks a returnUrl against the merchant's rules and returns it
// as the hosted page will use it. It must be https (http too when
// insecure is set, for development), without credentials, on one of the
// allowed hosts when there is a list, and its host must be a DNS name or
// an IPv4 address: the page copies the URL's origin into its
// Content-Security-Policy, where a host such as `a;script-src` would add
// a directive. A host written in Unicode (çiçek.com) is converted to its
// ASCII form (xn--iek-1lab.com), as a browser would, so the form the
// shopper posts and the policy that allows it name the same origin.
func (m *Merchant) ReturnURL(raw string, insecure bool) (string, error) {
	refuse := func(msg string) (string, error) {
		return "", &Error{Code: CodeInvalidField, Field: "returnUrl", Message: msg}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" || u.User != nil ||
		!(u.Scheme == "https" || u.Scheme == "http" && insecure) {
		return refuse("must be an https URL")
	}
	host, ok := hostPort(u.Host)
	switch {
	case strings.HasPrefix(u.Host, "["):
		return refuse("must not have an IPv6 address as its host: the page's Content-Security-Policy cannot name one")
	case !ok:
		return refuse("must have a DNS name or an IPv4 address as its host")
	}
	if len(m.ReturnHosts) > 0 && !slices.ContainsFunc(m.ReturnHosts, func(h string) bool {
		allowed, ok := hostName(h)
		return ok && allowed == hostOnly(host)
	}) {
		return refuse("must be an https URL on an allowed host")
	}
	if host == u.Host {
		return raw, nil
	}
	u.Host = host
	return u.String(), nil
}

// ReturnOrigin is the scheme://host[:port] of a return URL for the hosted
// page's form-action, or false when its host is not one ReturnURL
// accepts (a session stored before the rule existed).
func ReturnOrigin(returnURL string) (string, bool) {
	u, err := url.Parse(returnURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false
	}
	host, ok := hostPort(u.Host)
	if !ok {
		return "", false
	}
	return u.Scheme + "://" + host, true
}

// hostPort writes a URL's host and optional port the one way a browser
// reads them, or refuses them.
func hostPort(hp string) (string, bool) {
	host, port := hp, ""
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		host, port = hp[:i], hp[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
			return "", false
		}
		port = ":" + strconv.Itoa(n)
	}
	name, ok := hostName(host)
	return name + port, ok
}

// hostName accepts an IPv4 address or a DNS name, and returns it in ASCII
// and lower case. IPv6 addresses are refused: a Content-Security-Policy
// source names a host with letters, digits, hyphens and dots only, so the
// page could not allow its POST to one.
func hostName(host string) (string, bool) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.String(), ip.Is4()
	}
	ascii, err := dnsName.ToASCII(host)
	if err != nil || len(ascii) > 253 {
		return "", false
	}
	labels := strings.Split(ascii, ".")
	for _, l := range labels {
		if !ldh(l) {
			return "", false
		}
	}
	// A browser reads a name whose last label is a number (1.2.3,
	// a.0x10) as an IPv4 address, not as this name.
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		return "", false
	}
	return ascii, true
}

// dnsName maps a name as a browser looks it up (UTS #46, non-transitional:
// lower case, full-width letters folded) and allows only letters, digits
// and hyphens in the result.
var dnsName = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.VerifyDNSLength(true))

// ldh: a DNS label of letters, digits and inner hyphens, 1 to 63 long.
func ldh(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range []byte(l) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func hostOnly(hp string) string {
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		return hp[:i]
	}
	return hp
}
