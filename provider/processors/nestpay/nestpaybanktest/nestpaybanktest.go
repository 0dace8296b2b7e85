// Package nestpaybanktest starts the fake NestPay bank (cmd/nestpaybank) as
// a process for tests, as redistest starts redis-server: built once per
// test binary, on a free port, killed at the end of the test.
package nestpaybanktest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const command = "github.com/akinon-gateway/gateway/cmd/nestpaybank"

// Store is the account the bank is started with.
type Store struct {
	ClientID, StoreKey, APIUser, APIPassword, Prefix string
}

// Bank is one running fake bank.
type Bank struct {
	URL     string // base URL
	GateURL string // the 3D gate
	APIURL  string // the XML API
	Store   Store
	cmd     *exec.Cmd
}

var (
	buildOnce sync.Once
	binDir    string
	binary    string
	buildErr  error
)

// Remove deletes the built binary; call it from TestMain after m.Run.
func Remove() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

func build() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nestpaybank-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir, binary = dir, filepath.Join(dir, "nestpaybank")
		gobin := "go"
		if g := os.Getenv("GO"); g != "" { // the Makefile's toolchain
			gobin = g
		}
		out, err := exec.Command(gobin, "build", "-o", binary, command).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build %s: %v\n%s", command, err, out)
		}
	})
	return binary, buildErr
}

// Start builds (once) and starts the bank on a free port with its books in
// the Redis at redisURL, and kills it when the test ends.
func Start(tb testing.TB, redisURL string, s Store) *Bank {
	tb.Helper()
	bin, err := build()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-redis", redisURL, "-prefix", s.Prefix,
		"-client-id", s.ClientID, "-store-key", s.StoreKey, "-api-user", s.APIUser, "-api-password", s.APIPassword)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				line <- u
			}
		}
	}()
	select {
	case u := <-line:
		return &Bank{URL: u, GateURL: u + "/fim/est3Dgate", APIURL: u + "/fim/api", Store: s, cmd: cmd}
	case <-time.After(30 * time.Second):
		tb.Fatalf("nestpaybank did not start: %s", stderr.String())
	}
	return nil
}

// Faults are the bank's fault switches (see nestpaybank.Faults).
type Faults struct {
	Slow            time.Duration `json:"slow"`
	DropAfterActing bool          `json:"dropAfterActing"`
	DuplicateReturn bool          `json:"duplicateReturn"`
}

// SetFaults turns the bank's fault switches to f.
func (b *Bank) SetFaults(tb testing.TB, f Faults) {
	tb.Helper()
	body, _ := json.Marshal(f)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, b.URL+"/_faults", bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("set faults: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		tb.Fatalf("set faults: HTTP %d", resp.StatusCode)
	}
}

// Kill stops the bank at once, as a crash would.
func (b *Bank) Kill() { _ = b.cmd.Process.Kill() }
