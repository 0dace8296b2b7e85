package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/akinon-gateway/gateway/provider/processors"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// sandboxACS opens the sandbox bank's 3-D Secure page on an origin of its
// own, so the shopper's trip to it is a real cross-origin one: it listens
// on SANDBOX_ACS_ADDR (a free port on 127.0.0.1 by default) and is
// announced as SANDBOX_ACS_URL, or the listener's own URL when that is
// empty. serve starts it with the bank's handler; gw.close stops it.
// Without a sandbox among the merchants' processors nothing listens.
func (gw *gateway) sandboxACS(cfg Config, sections map[string][]*processors.Section, log *zap.Logger) (url string, serve func(http.Handler), err error) {
	if !usesSandbox(sections) {
		return "", func(http.Handler) {}, nil
	}
	ln, err := net.Listen("tcp", cfg.SandboxACSAddr)
	if err != nil {
		return "", nil, fmt.Errorf("listen %s (SANDBOX_ACS_ADDR): %w", cfg.SandboxACSAddr, err)
	}
	url = strings.TrimSuffix(string(cfg.SandboxACSURL), "/")
	if url == "" {
		url = "http://" + ln.Addr().String()
	}
	hs := &http.Server{ReadHeaderTimeout: cfg.HTTP.HeaderTimeout, ReadTimeout: cfg.HTTP.ReadTimeout, WriteTimeout: 30 * time.Second,
		IdleTimeout: cfg.HTTP.IdleTimeout}
	gw.closers = append(gw.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		_ = ln.Close()
	})
	return url, func(h http.Handler) {
		hs.Handler = h
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Warn("sandbox ACS stopped", zap.Error(err))
			}
		}()
		log.Info("sandbox bank's 3-D Secure ACS listening", zap.String("addr", ln.Addr().String()), zap.String("url", url))
	}, nil
}

// usesSandbox says whether a merchant pays through the sandbox.
func usesSandbox(sections map[string][]*processors.Section) bool {
	for _, secs := range sections {
		for _, sec := range secs {
			if sec.Name == sandbox.Name {
				return true
			}
		}
	}
	return false
}

// acsURL is SANDBOX_ACS_URL, refused at load when browsers could not be
// sent to it.
type acsURL string

// UnmarshalText reads SANDBOX_ACS_URL.
func (u *acsURL) UnmarshalText(text []byte) error {
	v, err := parseACSURL(string(text))
	*u = acsURL(v)
	return err
}

// parseACSURL reads SANDBOX_ACS_URL: empty (the listener's own URL), or
// the absolute http(s) base URL shoppers' browsers are sent to.
func parseACSURL(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	u, err := neturl.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL such as https://acs.example.com", v)
	}
	return v, nil
}
