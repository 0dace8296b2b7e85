// Package redistest runs real redis-server processes for tests: each on a
// free loopback port with its own data directory, so a test can kill,
// restart and fill its Redis without touching anyone else's.
//
// With REDISTEST_EMBEDDED=1 it runs miniredis instead, the in-process
// store of the gateway's embedded mode, so the same tests show that the
// scripts work there too. A test that needs what only a redis-server
// process has (being killed and restarted, an append-only file, CONFIG
// SET maxmemory) calls RequireServer and is skipped in that mode.
package redistest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// EmbeddedEnv is the environment variable that, set to 1, makes Start and
// Shared return miniredis servers.
const EmbeddedEnv = "REDISTEST_EMBEDDED"

// Embedded reports whether the tests run on miniredis (REDISTEST_EMBEDDED=1).
func Embedded() bool { return os.Getenv(EmbeddedEnv) == "1" }

// RequireServer skips the test on miniredis: it needs a redis-server
// process for the reason given (for example "CONFIG SET maxmemory").
func RequireServer(tb testing.TB, why string) {
	tb.Helper()
	if Embedded() {
		tb.Skipf("%s=1: needs a redis-server process: %s", EmbeddedEnv, why)
	}
}

// Server is one redis-server process, or one miniredis with
// REDISTEST_EMBEDDED=1.
type Server struct {
	Addr string
	dir  string
	args []string

	mu        sync.Mutex
	cmd       *exec.Cmd
	mini      *miniredis.Miniredis
	stopClock func()
}

// Option adds redis-server arguments.
type Option func(*Server)

// Durable makes every write reach the append-only file before Redis
// answers, so a killed server restarts with all acknowledged data.
func Durable() Option {
	return func(s *Server) { s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always") }
}

// Start runs a redis-server for the test and stops it at cleanup. With
// REDISTEST_EMBEDDED=1 it runs a miniredis, and skips a test that asks
// for options (Durable) only a redis-server has.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	if Embedded() {
		if len(opts) > 0 {
			RequireServer(tb, "redis-server options (an append-only file)")
		}
		s, err := startEmbedded()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(s.Kill)
		return s
	}
	s, err := start(tb.TempDir(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Kill)
	return s
}

func start(dir string, opts ...Option) (*Server, error) {
	_, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-server not found on PATH (apt-get install -y redis-server): %w", err)
	}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir}
		for _, o := range opts {
			o(s)
		}
		if lastErr = s.launch(); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// startEmbedded runs a miniredis on a free loopback port whose TTLs run
// on the wall clock, advanced every embeddedTick as the gateway's
// embedded mode does (cmd/gateway/app/redis.go), not with miniredis's
// ClockTTL, which sorts every key on every command: a test that writes
// thousands of sessions would slow to a crawl.
func startEmbedded() (*Server, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("redistest: start miniredis: %w", err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(embeddedTick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	return &Server{Addr: m.Addr(), mini: m, stopClock: func() { close(stop); <-done }}, nil
}

// embeddedTick is how often a miniredis advances its TTLs.
const embeddedTick = 100 * time.Millisecond

func (s *Server) launch() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--daemonize", "no", "--protected-mode", "no", "--logfile", filepath.Join(s.dir, "redis.log")}, s.args...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redistest: redis-server on %s exited: %s", s.Addr, tail(log))
		default:
		}
		if c.Ping(context.Background()).Err() == nil {
			s.mu.Lock()
			s.cmd = cmd
			s.mu.Unlock()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return fmt.Errorf("redistest: redis-server on %s did not answer in time", s.Addr)
}

// Kill stops the server at once (SIGKILL), like a crash. A miniredis is
// closed; a test that kills a server to see an outage calls
// RequireServer first.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, mini, stopClock := s.cmd, s.mini, s.stopClock
	s.cmd, s.stopClock = nil, nil
	s.mu.Unlock()
	if mini != nil {
		if stopClock != nil {
			stopClock()
		}
		mini.Close()
		return
	}
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill()
		// Wait until the port is free so a restart can take it again.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			c, err := net.DialTimeout("tcp", s.Addr, 50*time.Millisecond)
			if err != nil {
				return
			}
			c.Close()
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Restart starts the server again on the same port and data directory.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if s.mini != nil {
		// A miniredis restarts with every key it had, which is neither
		// a redis-server without persistence nor one with.
		RequireServer(tb, "a restarted process")
	}
	if err := s.launch(); err != nil {
		tb.Fatal(err)
	}
}

// Client returns a client closed at cleanup.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	tb.Cleanup(func() { c.Close() })
	return c
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
	sharedDir  string
	prefixSeq  atomic.Int64
)

// Shared returns the package's shared server, started on first use. Tests
// that share it keep apart by Prefix. Call Main from TestMain to stop it.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	sharedOnce.Do(func() {
		if Embedded() {
			shared, sharedErr = startEmbedded()
			return
		}
		sharedDir, sharedErr = os.MkdirTemp("", "redistest-")
		if sharedErr == nil {
			shared, sharedErr = start(sharedDir)
		}
	})
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return shared
}

// Prefix returns a key prefix no other test in the process uses.
func Prefix(tb testing.TB) string {
	return fmt.Sprintf("t%d", prefixSeq.Add(1))
}

// Main runs the tests and then stops the shared server.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the shared server, for a TestMain that does more than Main.
func Stop() {
	if shared != nil {
		shared.Kill()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
}

// busOffset is how far above its port a Cluster node listens for its
// bus.
const busOffset = 10000

// freePort is a port no one listens on, taken below the kernel's
// ephemeral range: a port the kernel handed out for ":0" can be given
// to an outgoing connection between the check and the server's own
// listen (seen as "address already in use"). Ports come from 10000 to
// 20000 with their bus port checked free too, so every Cluster bus
// port lies above every port handed out here (a gateway once got the
// bus port of a node started before it). Ports handed out once are
// not handed out again by this process.
func freePort() (int, error) {
	const first = 10000
	if span := min(busOffset, ephemeralLow()-first-busOffset); span > 0 {
		for range 200 {
			port := first + rand.IntN(span)
			if _, taken := handedOut.LoadOrStore(port, true); taken {
				continue
			}
			if listenable(port) && listenable(port+busOffset) {
				return port, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// listenable says whether nothing listens on the loopback port now.
func listenable(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

var handedOut sync.Map

// ephemeralLow is the first port of the kernel's ephemeral range
// (Linux's default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > 10001 {
				return lo
			}
		}
	}
	return 32768
}

func tail(b []byte) string {
	if len(b) > 500 {
		b = b[len(b)-500:]
	}
	return string(b)
}
