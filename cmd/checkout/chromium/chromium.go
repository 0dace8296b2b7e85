// Package chromium is how the project runs headless Chromium: the
// checkout driver's -browser shopper and the console's browser test use
// the same executable and flags.
package chromium

import (
	"os"

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
