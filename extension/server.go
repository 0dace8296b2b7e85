// Package extension is the gateway's HTTP side: the five Akinon calls
// behind Basic auth, the hosted payment page, health checks, the OpenAPI
// document (openapi.json), and the one place where errors become HTTP
// answers.
package extension

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/akinon-gateway/gateway/provider"
)

// Header names of Akinon's calls.
const (
	HeaderRequestID  = "x-akinon-request-id"
	HeaderAPIVersion = "x-akinon-api-version"
)

// Options configure a Server.
type Options struct {
	Service   *provider.Service
	Merchants *Merchants
	PublicURL string // base of redirectUrl, without a trailing slash
	DevMode   bool   // http return URLs allowed
	Logger    *zap.Logger
	// Ready reports whether the gateway can serve: the store answers,
	// takes writes and will not evict. /readyz answers with it.
	Ready func(context.Context) error
	// Throttle limits failed Basic auth and card attempts; nil: none.
	Throttle *Throttle
	// TrustedProxies are the addresses whose X-Forwarded-For names the
	// client; without them the client is the connection's peer, and the
	// header, which anyone can write, is ignored.
	TrustedProxies []*net.IPNet
	// Warnings name what runs that is not for production (the sandbox
	// bank, the embedded store); /readyz and the console header show them.
	Warnings []string
	// IPv6Prefix is how many leading bits of an IPv6 client address name
	// one client in the per-address throttles; 0: the whole address.
	IPv6Prefix int
}

// Server is the gateway's HTTP handler.
type Server struct {
	echo       *echo.Echo
	svc        *provider.Service
	merchants  *Merchants
	publicURL  string
	secure     bool // PUBLIC_URL is https
	devMode    bool
	log        *zap.Logger
	ready      func(context.Context) error
	validate   *validator.Validate
	pages      *pages
	throttle   *Throttle
	noisy      *zap.Logger // sampled: lines an attacker can repeat at will
	access     *zap.Logger // the access line's: no caller, which is always the same line
	console    *console    // nil until MountConsole
	ipv6Prefix int
	warnings   []string
}

// New builds the routes.
func New(o Options) *Server {
	s := &Server{
		echo:       echo.New(),
		svc:        o.Service,
		merchants:  o.Merchants,
		publicURL:  strings.TrimRight(o.PublicURL, "/"),
		secure:     strings.HasPrefix(o.PublicURL, "https://"),
		devMode:    o.DevMode,
		log:        o.Logger,
		ready:      o.Ready,
		validate:   newValidator(),
		pages:      mustPages(),
		throttle:   o.Throttle,
		ipv6Prefix: o.IPv6Prefix,
		warnings:   o.Warnings,
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	// A flood of wrong passwords or throttled calls writes a few lines a
	// second, not one per request: the first 5 of each kind every second,
	// then one in 100.
	s.noisy = zap.New(zapcore.NewSamplerWithOptions(s.log.Core(), time.Second, 5, 100))
	// Finding the caller walks the stack for every line, to name the one
	// line that always writes it: 1.7 of the line's 4 µs, 2 allocations.
	s.access = s.log.WithOptions(zap.WithCaller(false))
	s.svc.SetRenderers(provider.Renderers{Start: s.renderStart, Operation: renderOperation})
	e := s.echo
	s.setUp(e, o.TrustedProxies)

	// The five calls' middleware is given per route, not to a group:
	// Echo runs a group's middleware for every path under the group's
	// prefix (it adds catch-all routes for that), so a group at the root
	// would ask for Akinon's credentials (401) on every unknown path
	// instead of answering 404, and on a known path asked with another
	// method instead of answering 405.
	akinon := []echo.MiddlewareFunc{bodyLimit(64 << 10), s.authenticate("akinon", func(user, pass string, c echo.Context) bool {
		m := s.merchants.Authenticate(user, pass)
		if m == nil {
			return false
		}
		c.Set(ctxMerchant, m)
		return true
	})}
	e.POST("/start-session", s.startSession, akinon...)
	e.POST("/purchase", s.purchase, akinon...)
	e.POST("/void", s.void, akinon...)
	e.POST("/refund", s.refund, akinon...)
	e.POST("/history", s.history, akinon...)

	s.routePages(e)

	s.health(e)
	e.GET("/openapi.json", serveOpenAPI)
	return s
}

// setUp gives a router the gateway's request logging, headers, error
// handling and idea of the client's address.
func (s *Server) setUp(e *echo.Echo, trusted []*net.IPNet) {
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	if len(trusted) > 0 {
		opts := make([]echo.TrustOption, 0, len(trusted)+3)
		opts = append(opts, echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false))
		for _, n := range trusted {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	e.Use(s.requestContext, s.securityHeaders, middleware.Recover())
}

func (s *Server) health(e *echo.Echo) {
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
}

// OperatorEcho is the router of the operator endpoints. Without a
// listener of their own it is the main one; with one (ADMIN_ADDR) it is
// a router of its own, set up like the main one, with the health checks
// too, so an orchestrator can probe the gateway where the public cannot
// flood it.
func (s *Server) OperatorEcho(separate bool) *echo.Echo {
	if !separate {
		return s.echo
	}
	e := echo.New()
	s.setUp(e, nil)
	s.health(e)
	return e
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Echo exposes the router so other parts (operator endpoints) can add
// routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

// readiness is /readyz's body.
type readiness struct {
	Status   string   `json:"status"`
	Reason   string   `json:"reason,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// readyz answers 200 or 503 with the reason, in Ready's error: its text
// is public, so Ready keeps hosts and secrets for the log.
func (s *Server) readyz(c echo.Context) error {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		// Not logged here: probes come every few seconds, and the check
		// behind Ready logs when readiness changes.
		if err := s.ready(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, readiness{Status: "unavailable", Reason: err.Error(), Warnings: s.warnings})
		}
	}
	return c.JSON(http.StatusOK, readiness{Status: "ok", Warnings: s.warnings})
}

// requestContext takes or makes the request id, echoes it, gives the
// request its own logger, and writes one log line when the request ends.
// What the client sends is logged capped: a header may be near 1 MB.
func (s *Server) requestContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		id := req.Header.Get(HeaderRequestID)
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		c.Response().Header().Set(HeaderRequestID, id)
		// The access line carries the request's fields itself; the
		// loggers handed to the handlers take them lazily, as most
		// requests write nothing else.
		fields := make([]zap.Field, 0, 11)
		fields = append(fields, zap.String("request_id", id))
		if v := req.Header.Get(HeaderAPIVersion); v != "" {
			fields = append(fields, zap.String("api_version", capped(v, 32)))
		}
		c.Set(ctxLogger, s.log.WithLazy(fields...))
		c.Set(ctxNoisy, s.noisy.WithLazy(fields[0]))
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		log := s.access
		fields = append(fields,
			zap.String("method", capped(req.Method, 16)),
			zap.String("route", c.Path()),
			zap.Int("status", c.Response().Status),
			zap.Duration("latency", time.Since(start)),
		)
		if m := merchantOf(c); m != nil {
			fields = append(fields, zap.String("merchant", m.ID))
		}
		if g, ok := c.Get(ctxGUID).(string); ok {
			fields = append(fields, zap.String("guid", g))
		}
		if o, ok := c.Get(ctxOrder).(string); ok {
			fields = append(fields, zap.String("order_id", o))
		}
		if c.Response().Header().Get("Idempotent-Replayed") != "" {
			fields = append(fields, zap.Bool("replayed", true))
		}
		if st := c.Response().Status; st == http.StatusUnauthorized || st == http.StatusTooManyRequests {
			log = s.noisy
		}
		log.Info("request", fields...)
		return nil
	}
}

// noisyLogger is the request's sampled logger, for what an attacker can
// repeat at will (wrong passwords, throttled calls).
func (s *Server) noisyLogger(c echo.Context) *zap.Logger {
	if l, ok := c.Get(ctxNoisy).(*zap.Logger); ok {
		return l
	}
	return s.noisy
}

// capped keeps a value a client chose short enough for a log line: at
// most n bytes, cut on a character boundary, and marked with the length
// it had.
func capped(v string, n int) string {
	if len(v) <= n {
		return v
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "…(" + strconv.Itoa(len(v)) + " bytes)"
}

// logger is the request's own logger.
func (s *Server) logger(c echo.Context) *zap.Logger {
	if l, ok := c.Get(ctxLogger).(*zap.Logger); ok {
		return l
	}
	return s.log
}
