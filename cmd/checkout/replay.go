package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
)

// runReplay re-sends a -record file with its guids. A finished guid must
// answer the bytes it answered the first time; every difference is shown.
func runReplay(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("checkout replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	gatewayURL := fs.String("gateway", or(env("GATEWAY_URL"), "http://localhost:8080"), "gateway base URL (env GATEWAY_URL)")
	username := fs.String("username", or(env("GATEWAY_USERNAME"), devUsername), "Basic-auth user (env GATEWAY_USERNAME)")
	password := fs.String("password", or(env("GATEWAY_PASSWORD"), devPassword), "Basic-auth password (env GATEWAY_PASSWORD)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: checkout replay [flags] FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("replay needs one FILE written by -record")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	records, err := commerce.ReadRecords(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	sort.SliceStable(records, func(i, j int) bool { return records[i].Seq < records[j].Seq })
	if err := waitReady(ctx, *gatewayURL, 15*time.Second); err != nil {
		return err
	}
	cfg := config{GatewayURL: *gatewayURL, Username: *username, Password: *password}
	gw := newGateway(cfg, nil)

	fmt.Fprintf(stdout, "replay: %d requests from %s to %s\n", len(records), fs.Arg(0), *gatewayURL)
	var same, differ, replayed int
	for _, r := range records {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		x := gw.Call(ctx, r.Endpoint, []byte(r.RequestBody), r.RequestHeaders[commerce.HeaderRequestID])
		if x.Replayed() {
			replayed++
		}
		d := compareReplay(r, x)
		if d == "" {
			same++
			continue
		}
		differ++
		fmt.Fprintf(stdout, "DIFF #%d %s %s: %s\n", r.Seq, r.Endpoint, guidOf(r.RequestBody), d)
	}
	fmt.Fprintf(stdout, "%d identical, %d differ (%d answered with Idempotent-Replayed: true)\n", same, differ, replayed)
	if differ > 0 {
		return errFailed
	}
	return nil
}

// compareReplay describes how a replayed answer differs from the recorded
// one, or returns "".
func compareReplay(r commerce.Record, x *commerce.Exchange) string {
	if x.Err != nil {
		return "no answer: " + x.Err.Error()
	}
	want, got := []byte(r.ResponseBody), x.Body
	switch {
	case x.Status != r.Status && !bytes.Equal(want, got):
		return fmt.Sprintf("status %d, recorded %d; body %s", x.Status, r.Status, bodyDiff(want, got))
	case x.Status != r.Status:
		return fmt.Sprintf("status %d, recorded %d (same body)", x.Status, r.Status)
	case !bytes.Equal(want, got):
		return "body " + bodyDiff(want, got)
	}
	return ""
}

// bodyDiff shows where two bodies part, with some context.
func bodyDiff(want, got []byte) string {
	i := firstDifference(want, got)
	from := max(i-24, 0)
	cut := func(b []byte) string {
		end := min(i+40, len(b))
		if from > len(b) {
			return ""
		}
		return string(b[from:end])
	}
	return fmt.Sprintf("differs at byte %d (recorded %d bytes, replayed %d):\n      recorded: …%s…\n      replayed: …%s…",
		i, len(want), len(got), cut(want), cut(got))
}

// guidOf reads the guid of a request body for the report.
func guidOf(body string) string {
	var b struct {
		GUID string `json:"guid"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil || b.GUID == "" {
		return "(no guid)"
	}
	return "guid " + b.GUID
}
