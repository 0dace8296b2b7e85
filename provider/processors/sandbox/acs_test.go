package sandbox_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestACSRefusesWhatTheBankDidNotIssue: the ACS sends a browser only where
// a signed request from Authorise says, so it is no open redirect, and a
// code is no use without one.
func TestACSRefusesWhatTheBankDidNotIssue(t *testing.T) {
	p := sandbox.New(redistest.Shared(t).Client(t), sandbox.Options{Prefix: redistest.Prefix(t), ACSURL: "http://acs.test"})
	acs := httptest.NewServer(p.ACS())
	t.Cleanup(acs.Close)
	forged := url.Values{"ref": {"pay-x"}, "amount": {"10.00"}, "currency": {"TRY"},
		"returnUrl": {"https://evil.example/steal"}, "flow": {"frictionless"}, "sig": {"made-up"}}
	for _, path := range []string{"/acs", "/acs/answer"} {
		f := url.Values{}
		for k, v := range forged {
			f[k] = v
		}
		f.Set("code", sandbox.ThreeDSCode)
		resp, err := http.PostForm(acs.URL+path, f)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "evil.example") {
			t.Errorf("POST %s with a forged request: %d\n%s", path, resp.StatusCode, body)
		}
	}
}
