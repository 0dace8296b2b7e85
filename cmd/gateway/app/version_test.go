package app

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
)

// TestRunVersion prints the version and build information without reading
// any configuration: an empty environment would not pass Validate.
func TestRunVersion(t *testing.T) {
	var out bytes.Buffer
	noEnv := func(string) string { return "" }
	if err := Run(context.Background(), []string{"-version"}, noEnv, &out); err != nil {
		t.Fatalf("-version: %v", err)
	}
	got := out.String()
	for _, want := range []string{"gateway dev\n", runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH, "revision:", "modified:"} {
		if !strings.Contains(got, want) {
			t.Errorf("-version output lacks %q:\n%s", want, got)
		}
	}
}
