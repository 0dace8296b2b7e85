package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/akinon-gateway/gateway/cmd/checkout/commerce"
)

// report is the -report file.
type report struct {
	Gateway   string                `json:"gateway"`
	Shop      string                `json:"shop"`
	Shopper   string                `json:"shopper"`
	Passed    int                   `json:"passed"`
	Failed    int                   `json:"failed"`
	Scenarios []scenarioResult      `json:"scenarios"`
	Webhooks  commerce.WebhookStats `json:"webhooks"`
}

type scenarioResult struct {
	Name       string        `json:"name"`
	Passed     bool          `json:"passed"`
	Failures   []string      `json:"failures"`
	Summary    string        `json:"summary"`
	DurationMS int64         `json:"durationMs"`
	Orders     []orderReport `json:"orders"`
}

// runScenarios runs each picked scenario in turn and prints one line per
// scenario, its failures under it, and the count at the end.
func runScenarios(ctx context.Context, cfg config, shop *commerce.Shop, picked []scenario, stdout io.Writer) error {
	var shopper Shopper = newHTTPShopper()
	mode := "HTTP client"
	if cfg.Browser {
		b, err := newBrowserShopper(ctx, cfg.Chromium)
		if err != nil {
			return err
		}
		shopper, mode = b, "headless Chromium ("+cfg.Chromium+"), screenshots in "+cfg.OutDir
	}
	defer shopper.Close()
	fmt.Fprintf(stdout, "checkout: gateway %s, shop %s, shopper: %s\n", cfg.GatewayURL, shop.PublicURL(), mode)

	rep := report{Gateway: cfg.GatewayURL, Shop: shop.PublicURL(), Shopper: mode}
	for _, s := range picked {
		if ctx.Err() != nil {
			break
		}
		res := runOne(ctx, cfg, shop, shopper, s)
		rep.Scenarios = append(rep.Scenarios, res)
		verdict := "PASS"
		if res.Passed {
			rep.Passed++
		} else {
			rep.Failed++
			verdict = "FAIL"
		}
		fmt.Fprintf(stdout, "%s  %-22s %6.2fs  %s\n", verdict, s.name, float64(res.DurationMS)/1000, res.Summary)
		for _, f := range res.Failures {
			fmt.Fprintf(stdout, "      - %s\n", f)
		}
	}
	rep.Webhooks = shop.WebhookStats()
	st := rep.Webhooks
	fmt.Fprintf(stdout, "webhooks: %d received, %d taken, %d duplicates, %d refused, %d for other orders\n",
		st.Received, st.Applied, st.Duplicates, st.Refused, st.Unmatched)
	fmt.Fprintf(stdout, "%d passed, %d failed\n", rep.Passed, rep.Failed)
	if cfg.Report != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(cfg.Report, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("-report: %w", err)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if rep.Failed > 0 || rep.Passed != len(picked) {
		return errFailed
	}
	return nil
}

func runOne(ctx context.Context, cfg config, shop *commerce.Shop, shopper Shopper, s scenario) scenarioResult {
	sc := &scene{name: s.name, cfg: cfg, shop: shop, shopper: shopper}
	start := time.Now()
	if cfg.Browser {
		sh, err := newShots(cfg.OutDir, s.name)
		if err != nil {
			return scenarioResult{Name: s.name, Failures: []string{err.Error()}}
		}
		sc.shots = sh
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := s.run(sctx, sc); err != nil {
		sc.failf("%v", err)
	}
	return scenarioResult{
		Name: s.name, Passed: len(sc.failures) == 0, Failures: sc.failures, Summary: sc.summary,
		DurationMS: time.Since(start).Milliseconds(), Orders: sc.orders,
	}
}
