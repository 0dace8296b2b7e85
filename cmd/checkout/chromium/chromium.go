// Package chromium is how the project runs headless Chromium: the
// checkout driver's -browser shopper and the console's browser test use
// the same executable and flags.
package chromium

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/chromedp/chromedp"
)

// Default is where Debian's chromium package puts the browser.
const Default = "/usr/bin/chromium"

// Path is the executable: $CHROMIUM, else Default.
func Path() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return Default
}

// Options are the flags Chromium runs with: headless, no sandbox
// (containers and CI), nothing that reaches the network on its own, a
// profile of its own and a window of the given size.
func Options(exec, profile string, width, height int) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exec),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(width, height),
	}
}

// Browser is a running Chromium with a profile of its own; Ctx is its
// first tab.
type Browser struct {
	Ctx     context.Context
	cancel  func()
	profile string
}

// Start runs Chromium at exec with a fresh profile and a window of the
// given size, and waits (within start) until it answers.
func Start(ctx context.Context, exec string, width, height int, start time.Duration) (*Browser, error) {
	if _, err := os.Stat(exec); err != nil {
		return nil, fmt.Errorf("chromium: %w", err)
	}
	profile, err := os.MkdirTemp("", "chromium-")
	if err != nil {
		return nil, err
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), Options(exec, profile, width, height)...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{Ctx: tab, profile: profile, cancel: func() { cancelTab(); cancelAlloc() }}

	// The first action starts the browser and binds it to its context, so
	// it runs on that context; a timer bounds it instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(tab) }()
	timer := time.NewTimer(start)
	defer timer.Stop()
	select {
	case err = <-started:
	case <-timer.C:
		err = fmt.Errorf("chromium did not start within %s", start)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("chromium: %w", err)
	}
	return b, nil
}

// Close stops Chromium and removes its profile.
func (b *Browser) Close() error {
	b.cancel()
	return os.RemoveAll(b.profile)
}
