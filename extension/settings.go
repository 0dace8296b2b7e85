package extension

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// Settings is the HTTP side's section: the operator's credentials and
// listener, the throttles, and what the listener allows a client.
type Settings struct {
	AdminUsername  string        `env:"ADMIN_USERNAME" doc:"Basic auth of the operator endpoints"`
	AdminPassword  string        `env:"ADMIN_PASSWORD" secret:"true"`
	AdminAddr      string        `env:"ADMIN_ADDR" doc:"the operator endpoints' own listener"`
	Throttle       Limits        // THROTTLE_*
	MaxConns       int           `env:"MAX_CONNS" min:"0" doc:"open connections on the main listener; 0: no limit"`
	MaxConnsPerIP  int           `env:"MAX_CONNS_PER_IP" min:"0" doc:"from one client; 0: no limit"`
	IPv6Prefix     int           `env:"IPV6_PREFIX" min:"1" max:"128" doc:"the leading bits of an IPv6 address that name one client"`
	IdleTimeout    time.Duration `env:"IDLE_TIMEOUT" min:"1ns" doc:"a keep-alive connection doing nothing"`
	HeaderTimeout  time.Duration `env:"HEADER_TIMEOUT" min:"1ns" doc:"the longest a request's header block may take"`
	ReadTimeout    time.Duration `env:"READ_TIMEOUT" min:"1ns" doc:"the longest a whole request may take"`
	BodyMinRate    int           `env:"BODY_MIN_RATE" min:"0" doc:"bytes a second a body must average; 0: no minimum"`
	BodyGrace      time.Duration `env:"BODY_GRACE" min:"1ns" doc:"how long a body may take before its rate is checked"`
	TrustedProxies CIDRs         `env:"TRUSTED_PROXIES" doc:"whose X-Forwarded-For names the client"`
}

// DefaultSettings are the HTTP side's defaults. A developer's machine
// pays from one address with the same few test cards, and load runs pay
// hundreds a second: the card throttles are off in DEV_MODE unless set
// (Limits' dev tags).
func DefaultSettings() Settings {
	return Settings{
		Throttle: Limits{
			AuthIP:       provider.Limit{Count: 20, Per: time.Minute},
			AuthUser:     provider.Limit{Count: 100, Per: time.Minute},
			CardIP:       provider.Limit{Count: 20, Per: 10 * time.Minute},
			CardMerchant: provider.Limit{Count: 3000, Per: time.Minute},
			CardBIN:      provider.Limit{Count: 30, Per: 10 * time.Minute},
		},
		MaxConns:      2048,
		MaxConnsPerIP: 256,
		IPv6Prefix:    64,
		IdleTimeout:   30 * time.Second,
		HeaderTimeout: 5 * time.Second,
		ReadTimeout:   20 * time.Second,
		BodyMinRate:   1024,
		BodyGrace:     3 * time.Second,
	}
}

// Validate: the admin credentials go together, and outside DEV_MODE the
// password is not a short one.
func (s Settings) Validate(dev bool) error {
	switch {
	case (s.AdminUsername == "") != (s.AdminPassword == ""):
		return errors.New("ADMIN_USERNAME and ADMIN_PASSWORD go together")
	case s.AdminPassword != "" && len(s.AdminPassword) < 12 && !dev:
		return errors.New("ADMIN_PASSWORD: must be at least 12 characters")
	}
	return nil
}

// CIDRs are networks, read from a comma list of addresses or CIDRs (an
// address alone is its own /32 or /128).
type CIDRs []*net.IPNet

// UnmarshalText reads TRUSTED_PROXIES.
func (c *CIDRs) UnmarshalText(text []byte) error {
	v := string(text)
	var out CIDRs
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return fmt.Errorf("%q is not a list of addresses or CIDRs such as 10.0.0.0/8,192.168.1.7", v)
		}
		out = append(out, n)
	}
	*c = out
	return nil
}

func (c CIDRs) String() string {
	parts := make([]string, len(c))
	for i, n := range c {
		parts[i] = n.String()
	}
	return strings.Join(parts, ",")
}
