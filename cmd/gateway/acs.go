package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
)

// sandboxACS opens the sandbox bank's 3-D Secure page on an origin of its
// own, so the shopper's trip to it is a real cross-origin one: it listens
// on SANDBOX_ACS_ADDR (a free port on 127.0.0.1 by default) and is
// announced as SANDBOX_ACS_URL, or the listener's own URL when that is
// empty. serve starts it with the bank's handler; gw.close stops it.
func (gw *gateway) sandboxACS(cfg Config, log *zap.Logger) (url string, serve func(http.Handler), err error) {
	ln, err := net.Listen("tcp", cfg.SandboxACSAddr)
	if err != nil {
		return "", nil, fmt.Errorf("listen %s (SANDBOX_ACS_ADDR): %w", cfg.SandboxACSAddr, err)
	}
	url = strings.TrimSuffix(cfg.SandboxACSURL, "/")
	if url == "" {
		url = "http://" + ln.Addr().String()
	}
	hs := &http.Server{ReadHeaderTimeout: cfg.HeaderTimeout, ReadTimeout: cfg.ReadTimeout, WriteTimeout: 30 * time.Second,
		IdleTimeout: cfg.IdleTimeout}
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
