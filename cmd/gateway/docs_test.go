package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocLinksResolve: every relative link of README.md and docs/*.md
// names a file that exists and, with a #fragment, a heading of it.
func TestDocLinksResolve(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(raw), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), path)
			}
			if _, err := os.Stat(dest); err != nil {
				t.Errorf("%s: link %s: no such file", filepath.Base(file), target)
				continue
			}
			if frag != "" && !anchors(t, dest)[frag] {
				t.Errorf("%s: link %s: no such heading in %s", filepath.Base(file), target, filepath.Base(dest))
			}
		}
	}
}

// anchors are the fragments GitHub gives a Markdown file's headings.
func anchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range title {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}

// TestREADMELeads: the README opens with its two commands and gives the Go
// version go.mod asks for.
func TestREADMELeads(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(readme), "\n")
	if len(lines) < 6 || lines[2] != "```sh" || !strings.HasPrefix(lines[3], "make run ") || !strings.HasPrefix(lines[4], "make test ") {
		t.Errorf("README.md does not open with make run and make test:\n%s", strings.Join(lines[:min(6, len(lines))], "\n"))
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	first := strings.Join(lines[:min(25, len(lines))], "\n")
	if goLine == nil || !strings.Contains(first, "Go "+string(goLine[1])) {
		t.Errorf("README.md's first screen does not name Go %s (go.mod)", goLine[1])
	}
}
