package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestTestPartsAreShown: when the sandbox bank or the embedded store runs,
// /readyz's body, the console header and a metric say so; on a Redis only
// the sandbox is named.
func TestTestPartsAreShown(t *testing.T) {
	tests := []struct {
		name  string
		redis bool
		want  []string // parts
	}{
		{"embedded store and sandbox", false, []string{"embedded_store", "sandbox"}},
		{"redis-server and sandbox", true, []string{"sandbox"}},
	}
	warning := map[string]string{"embedded_store": "EMBEDDED IN-MEMORY STORE", "sandbox": "SANDBOX BANK"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			redisURL := ""
			if tt.redis {
				redisURL = redistest.Start(t).URL()
			}
			base, _ := gatewaytest.Run(t, gatewaytest.Env(gatewaytest.FreeAddr(t), redisURL, "", map[string]string{
				"ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "ops-password-long"}))

			resp, err := http.Get(base + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			var body readyBody
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if len(body.Warnings) != len(tt.want) {
				t.Errorf("/readyz warnings %q, want one for each of %v", body.Warnings, tt.want)
			}
			for i, p := range tt.want {
				if i < len(body.Warnings) && !strings.HasPrefix(body.Warnings[i], warning[p]) {
					t.Errorf("/readyz warning %d: %q, want %s", i, body.Warnings[i], warning[p])
				}
			}

			req, _ := http.NewRequest(http.MethodGet, base+"/admin/", nil)
			req.SetBasicAuth("ops", "ops-password-long")
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fams, _ := scrape(t, base+"/metrics", "ops", "ops-password-long")
			for _, p := range []string{"embedded_store", "sandbox"} {
				shown := strings.Contains(string(page), "Not for production: "+warning[p])
				metric := value(fams, "gateway_not_for_production", map[string]string{"part": p}) == 1
				if runs := slices.Contains(tt.want, p); shown != runs || metric != runs {
					t.Errorf("%s runs: %v; the console header shows it: %v; gateway_not_for_production{part=%q} is 1: %v",
						p, runs, shown, p, metric)
				}
			}
		})
	}
}

// TestCheckConfigLogsRedisAsJSON: go-redis's own messages under
// -check-config (a Redis that does not answer) are JSON lines like every
// other, and the refusal is the one plain line on stderr.
func TestCheckConfigLogsRedisAsJSON(t *testing.T) {
	cmd := exec.Command(gatewaytest.Binary(t), "-check-config")
	cmd.Env = []string{"DEV_MODE=1", "REDIS_URL=redis://" + gatewaytest.FreeAddr(t) + "/0"}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("-check-config passed on a Redis that does not answer")
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	for _, l := range lines {
		var entry struct{ Logger, Msg string }
		if err := json.Unmarshal([]byte(l), &entry); err != nil || entry.Logger != "redis" {
			t.Errorf("not a JSON line of the redis logger: %q", l)
		}
	}
	if !strings.HasPrefix(stderr.String(), "gateway: ") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr %q: want the one refusal line", stderr.String())
	}
}
