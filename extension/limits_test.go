package extension_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
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
			if r.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413: %s", r.Status, r.Body)
			}
			if e := checkErrorBody(t, r); e.Errors[0].Code != "body_too_large" {
				t.Fatalf("errors %+v", e.Errors)
			}
		})
	}
}
