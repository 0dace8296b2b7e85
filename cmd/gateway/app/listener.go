package app

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// The share of MAX_CONNS kept for light clients, and what light means.
// Past MAX_CONNS - MAX_CONNS/reserveShare open connections, only a client
// holding fewer than lightClient connections is let in: many addresses
// each holding a few hundred connections cannot shut out an orchestrator's
// probe or Akinon's small keep-alive pool. A client whose body was cut for
// its rate is held to lightClient connections for slowPenalty, so cutting
// slow bodies does not just make room for the same client's next ones.
const (
	reserveShare = 8
	lightClient  = 8
	slowPenalty  = time.Minute
)

// connLimits is what the main listener lets a client hold open.
type connLimits struct {
	total     int                    // MAX_CONNS; 0: no limit
	perClient int                    // MAX_CONNS_PER_IP; 0: no limit
	key       func(ip string) string // the client an address stands for (IPv6 by prefix)
	proxies   []*net.IPNet           // TRUSTED_PROXIES: many clients behind one address, never penalised
}

// limitListener caps the connections a listener keeps open, in all and
// per client. A connection over a cap is closed at once, never left
// waiting in accept: a queued accept is what made every other client,
// health checks included, wait behind a flood.
func limitListener(ln net.Listener, lim connLimits) *cappedListener {
	if lim.key == nil {
		lim.key = func(ip string) string { return ip }
	}
	return &cappedListener{Listener: ln, lim: lim, open: map[string]int{}, slow: map[string]time.Time{}}
}

type cappedListener struct {
	net.Listener
	lim connLimits

	mu   sync.Mutex
	all  int
	open map[string]int
	slow map[string]time.Time // clients penalised for a slow body, until when
}

func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := l.lim.key(hostOf(c.RemoteAddr().String()))
		if !l.admit(key, time.Now()) {
			c.Close()
			continue
		}
		return &countedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// admit counts a connection of key in, if the caps allow it.
func (l *cappedListener) admit(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	held := l.open[key]
	if until, ok := l.slow[key]; ok && !now.Before(until) {
		delete(l.slow, key)
	}
	_, penalised := l.slow[key]
	switch {
	case penalised && held >= lightClient:
		return false
	case l.lim.perClient > 0 && held >= l.lim.perClient:
		return false
	case l.lim.total > 0 && l.all >= l.lim.total:
		return false
	case l.lim.total > 0 && l.all >= l.lim.total-l.lim.total/reserveShare && held >= lightClient:
		return false
	}
	l.open[key]++
	l.all++
	return true
}

// penalise holds the client at addr to lightClient connections for
// slowPenalty; a trusted proxy speaks for many clients and is not held.
func (l *cappedListener) penalise(addr string) {
	host := hostOf(addr)
	if ip := net.ParseIP(host); ip != nil {
		for _, n := range l.lim.proxies {
			if n.Contains(ip) {
				return
			}
		}
	}
	key := l.lim.key(host)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.slow) < 1<<16 { // a bound on what a flood of addresses can make it remember
		l.slow[key] = time.Now().Add(slowPenalty)
	}
}

func (l *cappedListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all--
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// bodyRate is the slowest a request body may arrive: after grace, at
// least rate bytes a second on average since the body began, and all of
// it within timeout of the request's start. A body slower than that is
// cut (the read fails and the connection is closed), within seconds
// rather than at the end of the whole read timeout.
type bodyRate struct {
	rate    int // bytes a second; 0: no minimum
	grace   time.Duration
	timeout time.Duration
	cut     func(remoteAddr string) // called when a body is cut for its rate
}

// minBodyRate enforces r on every request body h reads.
func minBodyRate(h http.Handler, r bodyRate) http.Handler {
	if r.rate <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Body != nil && req.Body != http.NoBody {
			req.Body = &ratedBody{ReadCloser: req.Body, rc: http.NewResponseController(w), r: r, start: time.Now(), addr: req.RemoteAddr}
		}
		h.ServeHTTP(w, req)
	})
}

type ratedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	r     bodyRate
	start time.Time
	addr  string
	n     int64
	done  bool
}

func (b *ratedBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	due := b.start.Add(b.r.grace + time.Duration(b.n)*time.Second/time.Duration(b.r.rate))
	if end := b.start.Add(b.r.timeout); due.After(end) {
		due = end
	}
	_ = b.rc.SetReadDeadline(due)
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if errors.Is(err, os.ErrDeadlineExceeded) && b.r.cut != nil && time.Since(b.start) < b.r.timeout {
		b.r.cut(b.addr)
	}
	if errors.Is(err, io.EOF) {
		// The body is whole: the connection's next read (the server's
		// check that the client is still there) may wait as long as the
		// read timeout allows, not the body's last due time.
		b.done = true
		_ = b.rc.SetReadDeadline(b.start.Add(b.r.timeout))
	}
	return n, err
}
