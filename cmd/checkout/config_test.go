package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(config) string
		wantErr string
	}{
		{name: "defaults are the gateway's development ones", check: func(c config) string {
			if c.GatewayURL != "http://localhost:8080" || c.Username != devUsername || c.Password != devPassword ||
				c.HashKey != devHashKey || c.Listen != "127.0.0.1:0" || c.N != 0 || strings.Join(c.Scenarios, ",") != "all" {
				return "unexpected defaults"
			}
			return ""
		}},
		{name: "the environment names the gateway's variables",
			env: map[string]string{"GATEWAY_URL": "http://gw:9000", "GATEWAY_USERNAME": "u", "GATEWAY_PASSWORD": "p",
				"HASH_KEY": "k", "HASH_SCHEME": "sha512-keylast", "WEBHOOK_HASH_KEY": "w"},
			check: func(c config) string {
				if c.GatewayURL != "http://gw:9000" || c.Username != "u" || c.Password != "p" || c.HashKey != "k" ||
					c.HashScheme != "sha512-keylast" || c.WebhookHashKey != "w" {
					return "environment not read"
				}
				return ""
			}},
		{name: "flags win over the environment", args: []string{"-gateway", "http://other:1", "-scenarios", "sale, refund", "-webhook-wait", "5s"},
			env: map[string]string{"GATEWAY_URL": "http://gw:9000"},
			check: func(c config) string {
				if c.GatewayURL != "http://other:1" || strings.Join(c.Scenarios, ",") != "sale,refund" || c.WebhookWait != 5*time.Second {
					return "flags not read"
				}
				return ""
			}},
		{name: "load in a browser", args: []string{"-n", "10", "-browser"}, wantErr: "load (-n) runs with the HTTP shopper"},
		{name: "no concurrency", args: []string{"-n", "10", "-c", "0"}, wantErr: "-c ≥ 1"},
		{name: "gateway not a URL", args: []string{"-gateway", "localhost:8080"}, wantErr: "not an absolute http(s) URL"},
		{name: "unknown hash scheme", args: []string{"-hash-scheme", "md5"}, wantErr: "unknown hash scheme"},
		{name: "stray argument", args: []string{"replay.jsonl"}, wantErr: "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(c); msg != "" {
				t.Errorf("%s: %+v", msg, c)
			}
		})
	}
}

func TestPickScenarios(t *testing.T) {
	all, err := pickScenarios([]string{"all"})
	if err != nil || len(all) != len(allScenarios()) {
		t.Fatalf("all: %d scenarios, %v", len(all), err)
	}
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.name] || s.run == nil || s.about == "" {
			t.Errorf("scenario %q is listed twice or incomplete", s.name)
		}
		seen[s.name] = true
	}
	some, err := pickScenarios([]string{"refund", "sale"})
	if err != nil || len(some) != 2 || some[0].name != "refund" || some[1].name != "sale" {
		t.Errorf("picked %v, %v", some, err)
	}
	if _, err := pickScenarios([]string{"sale", "nope"}); err == nil || !strings.Contains(err.Error(), `unknown scenario "nope"`) {
		t.Errorf("unknown scenario: %v", err)
	}
}
