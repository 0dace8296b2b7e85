package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// proc is a server the bench started as a process of its own.
type proc struct {
	name       string
	cmd        *exec.Cmd
	base       string // http://host:port of its API
	metricsURL string // its Prometheus metrics, "" for none
	adminBase  string // http://host:port of its operator endpoints, "" for none
}

// freeAddr is a loopback address no one listens on yet.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs name with args and env, its output into dir/name.log.
func start(dir, name, bin string, args []string, env []string) (*proc, error) {
	out, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait(); out.Close() }()
	return &proc{name: name, cmd: cmd}, nil
}

func (p *proc) stop() {
	if p != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
}

// startRedis runs a redis-server named name on a free port, configured
// as the tests configure theirs (no snapshots), in a directory of its
// own under dir, and waits for its PING. With replicaOf (a master's
// address) it is that master's replica, and it waits until the two are
// in sync.
func startRedis(ctx context.Context, dir, name, replicaOf string) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	own := filepath.Join(dir, name)
	if err := os.MkdirAll(own, 0o700); err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--dir", own,
		"--save", "", "--daemonize", "no", "--protected-mode", "no", "--maxmemory-policy", "noeviction"}
	if replicaOf != "" {
		host, mport, _ := net.SplitHostPort(replicaOf)
		args = append(args, "--replicaof", host, mport)
	}
	p, err := start(dir, name, "redis-server", args, nil)
	if err != nil {
		return nil, "", fmt.Errorf("redis-server: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	what, ready := "redis-server to answer PING", func() bool { return rdb.Ping(ctx).Err() == nil }
	if replicaOf != "" {
		what, ready = "the replica to sync with its master", func() bool {
			info, err := rdb.Info(ctx, "replication").Result()
			return err == nil && strings.Contains(info, "master_link_status:up")
		}
	}
	if err := waitFor(ctx, 20*time.Second, what, ready); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, addr, nil
}

// commandCalls is how many times the redis-server at addr has run
// command (INFO commandstats); -1 when it cannot say.
func commandCalls(ctx context.Context, addr, command string) int64 {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	info := rdb.InfoMap(ctx, "commandstats")
	if info.Err() != nil {
		return -1
	}
	v, _ := strings.CutPrefix(info.Item("Commandstats", "cmdstat_"+command), "calls=")
	n, _ := strconv.ParseInt(v[:strings.IndexByte(v+",", ',')], 10, 64)
	return n
}

// waitServing waits until GET base+path answers.
func waitServing(ctx context.Context, p *proc, path string) error {
	return waitFor(ctx, 30*time.Second, p.name+" to serve", func() bool {
		resp, err := http.Get(p.base + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

func waitFor(ctx context.Context, within time.Duration, what string, ok func() bool) error {
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %s for %s", within, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// rss is the resident set of a process, from /proc.
func rss(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// mallocs is the server's count of heap objects allocated so far
// (go_memstats_mallocs_total of its Prometheus Go collector).
func mallocs(metricsURL string) (float64, bool) {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	return parseMallocs(resp.Body)
}
