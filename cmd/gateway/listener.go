package main

import (
	"net"
	"sync"

	"golang.org/x/net/netutil"
)

// limitListener caps the connections a listener keeps open: in all
// (netutil.LimitListener: the next accept waits for one to close) and
// from one client address (the connection is closed at once). Without
// the caps two clients holding ten thousand idle keep-alive connections
// each ran the process out of file descriptors, and the health checks
// stopped answering with everything else.
func limitListener(ln net.Listener, total, perIP int) net.Listener {
	if total > 0 {
		ln = netutil.LimitListener(ln, total)
	}
	if perIP > 0 {
		ln = &perIPListener{Listener: ln, max: perIP, open: map[string]int{}}
	}
	return ln
}

type perIPListener struct {
	net.Listener
	max int

	mu   sync.Mutex
	open map[string]int
}

func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := c.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		l.mu.Lock()
		if l.open[ip] >= l.max {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *perIPListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
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
