package app

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release this binary was built as, set at build time:
//
//	go build -ldflags "-X github.com/akinon-gateway/gateway/cmd/gateway/app.version=v1.2.3" ./cmd/gateway
var version = "dev"

// printVersion writes the version and what the Go toolchain recorded about
// the build: module version, VCS revision, time and modified flag (absent
// when built with -buildvcs=false or outside a git checkout), Go version and
// platform.
func printVersion(w io.Writer) error {
	module, revision, vcsTime, modified := "unknown", "unknown", "unknown", "unknown"
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			module = bi.Main.Path
			if bi.Main.Version != "" {
				module += " " + bi.Main.Version
			}
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	_, err := fmt.Fprintf(w, "gateway %s\nmodule:   %s\nrevision: %s\ntime:     %s\nmodified: %s\ngo:       %s\nplatform: %s/%s\n",
		version, module, revision, vcsTime, modified, goVersion, runtime.GOOS, runtime.GOARCH)
	return err
}
