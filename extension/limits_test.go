package extension_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// sendPython posts n bytes with Python's urllib, which sends the whole
// body before it reads the answer, and returns the status and body it
// read.
const sendPython = `
import sys, urllib.request, urllib.error
url, n, auth = sys.argv[1], int(sys.argv[2]), sys.argv[3]
req = urllib.request.Request(url, data=b"x" * n, method="POST",
    headers={"Content-Type": "application/json", "Authorization": "Basic " + auth})
try:
    r = urllib.request.urlopen(req, timeout=30)
    status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
sys.stdout.write(str(status) + "\n" + body.decode())
`

// TestOverLimitBodiesAreAnswered: a body over 64 KiB gets a 413 the
// client can read, whether it reads the answer while sending (Go) or only
// once it has sent everything (Python's urllib, which otherwise fails
// with a broken pipe or a connection reset and never sees the 413).
func TestOverLimitBodiesAreAnswered(t *testing.T) {
	g := mustGateway(t)
	auth := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
	tests := []struct {
		client  string
		size    int
		chunked bool
	}{
		{"go", 2 << 20, false},
		{"go", 8 << 20, false},
		{"go", 8 << 20, true},
		{"python", 2 << 20, false},
		{"python", 8 << 20, false},
	}
	for _, tt := range tests {
		name := tt.client + "/" + strconv.Itoa(tt.size>>20) + "MiB"
		if tt.chunked {
			name += "/chunked"
		}
		t.Run(name, func(t *testing.T) {
			var r *response
			switch tt.client {
			case "go":
				req, err := http.NewRequest(http.MethodPost, g.URL+"/start-session", bytes.NewReader(bytes.Repeat([]byte("x"), tt.size)))
				if err != nil {
					t.Fatal(err)
				}
				if tt.chunked {
					req.ContentLength = -1
				}
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth(testUser, testPassword)
				r = do(t, http.DefaultClient, req)
			case "python":
				if _, err := exec.LookPath("python3"); err != nil {
					t.Skip("python3 is not installed")
				}
				out, err := exec.Command("python3", "-c", sendPython, g.URL+"/start-session", strconv.Itoa(tt.size), auth).CombinedOutput()
				if err != nil {
					t.Fatalf("python3: %v\n%s", err, out)
				}
				status, body, _ := strings.Cut(string(out), "\n")
				code, _ := strconv.Atoi(status)
				r = &response{Status: code, Body: []byte(body)}
			}
			mustFail(t, r, http.StatusRequestEntityTooLarge, "body_too_large")
		})
	}
}

// TestLoggedHeadersStayShort: what a client puts in a header or the
// request line reaches the log capped, so a 1,000 KiB value cannot make
// one request write a megabyte of log. The gateway's own listener refuses
// headers above 16 KiB before they reach a handler; the handler is served
// here by a server that takes 1 MiB, so the cap is proved on its own.
func TestLoggedHeadersStayShort(t *testing.T) {
	g := mustGateway(t)
	wide := httptest.NewServer(g.handler)
	t.Cleanup(wide.Close)
	g.URL = wide.URL
	huge := strings.Repeat("v", 1000<<10)
	third := huge[:len(huge)/3]
	tests := []struct {
		name   string
		method string
		opts   []reqOption
		field  string // a field of the request's log line and its value
		want   string
	}{
		{"an api version", http.MethodPost, []reqOption{withHeader("x-akinon-api-version", "2.1")}, "api_version", "2.1"},
		{"an api version of 32", http.MethodPost, []reqOption{withHeader("x-akinon-api-version", strings.Repeat("v", 32))}, "api_version", strings.Repeat("v", 32)},
		{"an api version of 1,000 KiB", http.MethodPost, []reqOption{withHeader("x-akinon-api-version", huge)}, "api_version", strings.Repeat("v", 32) + "…(1024000 bytes)"},
		{"an api version cut in a character", http.MethodPost, []reqOption{withHeader("x-akinon-api-version", strings.Repeat("v", 31)+"ş")}, "api_version", strings.Repeat("v", 31) + "…(33 bytes)"},
		{"a request id of 1,000 KiB", http.MethodPost, []reqOption{withHeader("x-akinon-request-id", huge)}, "", ""},
		{"a method of 1,000 KiB", huge, nil, "method", strings.Repeat("v", 16) + "…(1024000 bytes)"},
		{"a third of each", third, []reqOption{withHeader("x-akinon-api-version", third), withHeader("x-akinon-request-id", third)}, "api_version", strings.Repeat("v", 32) + "…(341333 bytes)"},
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g.logs.TakeAll()
			req, err := http.NewRequest(tt.method, g.URL+"/history", strings.NewReader(body(opBody("o-none", "g-log-"+strconv.Itoa(i)))))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth(testUser, testPassword)
			for _, o := range tt.opts {
				o(req)
			}
			if tt.method != http.MethodPost {
				offDocument()(req) // no endpoint has that method
			}
			r := do(t, http.DefaultClient, req)
			if r.Status >= 500 || r.Status == http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("status %d: the request did not reach the gateway's handlers", r.Status)
			}
			entries := g.logs.TakeAll()
			size := 0
			found := tt.field == ""
			for _, e := range entries {
				buf, err := enc.EncodeEntry(e.Entry, e.Context)
				if err != nil {
					t.Fatal(err)
				}
				size += buf.Len()
				buf.Free()
				if e.Message == "request" && tt.field != "" {
					if got := e.ContextMap()[tt.field]; got != tt.want {
						t.Errorf("%s logged as %.80q…, want %q", tt.field, got, tt.want)
					}
					found = true
				}
			}
			if !found {
				t.Errorf("no request log line")
			}
			if size > 2048 {
				t.Errorf("the request wrote %d bytes of log", size)
			}
		})
	}
}
