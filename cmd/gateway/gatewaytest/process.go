package gatewaytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybanktest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// Main runs a package's tests and then removes the gateway binary and the
// shared redis-server, for TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	nestpaybanktest.Remove()
	redistest.Stop()
	os.Exit(code)
}

// build is the gateway binary, built once per test binary run.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Binary builds ./cmd/gateway once per test binary run and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "gateway-bin-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "gateway")
		goTool := "go"
		if g := os.Getenv("GO"); g != "" { // the Makefile's GO
			goTool = g
		}
		out, err := exec.Command(goTool, "build", "-o", build.path, "github.com/akinon-gateway/gateway/cmd/gateway").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}

// Process is the gateway running as a process of its own.
type Process struct {
	Base string // PUBLIC_URL's listener: http:// and env's ADDR

	tb  testing.TB
	env map[string]string

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has exited
}

// StartProcess runs the gateway binary with env (on top of this process's
// environment) and waits until it serves /healthz; cleanup kills it.
func StartProcess(tb testing.TB, env map[string]string) *Process {
	tb.Helper()
	p := &Process{tb: tb, env: env, Base: "http://" + env["ADDR"]}
	p.start()
	tb.Cleanup(p.Kill)
	return p
}

func (p *Process) start() {
	p.tb.Helper()
	cmd := exec.Command(Binary(p.tb))
	cmd.Env = os.Environ()
	p.mu.Lock()
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p.mu.Unlock()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	exit := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exit) }()
	p.mu.Lock()
	p.cmd, p.exit = cmd, exit
	p.mu.Unlock()
	waitHealthy(p.tb, p.Base, 20*time.Second, func() {
		select {
		case <-exit:
			p.tb.Fatalf("the gateway process exited before it served: %v", cmd.ProcessState)
		default:
		}
	})
}

// Kill stops the process at once (SIGKILL): nothing it held in memory
// survives, and nothing it was doing finishes.
func (p *Process) Kill() {
	p.mu.Lock()
	cmd, exit := p.cmd, p.exit
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exit
	}
}

// Pid is the process's id.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Restart starts the process again with the same environment.
func (p *Process) Restart() {
	p.tb.Helper()
	p.Kill()
	p.start()
}

// Setenv changes one variable for the next Restart.
func (p *Process) Setenv(key, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.env[key] = value
}
