package processors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/settings"
)

// Section is one processor of a merchant, its settings read and valid.
type Section struct {
	Name     string
	kind     *Kind
	settings Settings
}

// Section reads the section of processor name: its defaults, then its
// environment variables (env), then the keys of raw, a merchant's
// processor section as JSON ("name" names the processor; every other key
// must be one of its settings). Errors name the variable or the key.
func (r Registry) Section(name string, env func(string) string, raw json.RawMessage) (*Section, error) {
	k, err := r.kind(name)
	if err != nil {
		return nil, err
	}
	s := k.defaults()
	fs := settings.Fields(s)
	if err := errors.Join(settings.Load(s, env), readJSON(fs, name, raw)); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &Section{Name: name, kind: k, settings: s}, nil
}

// readJSON sets the fields raw's keys name, refusing a key that is none.
func readJSON(fs []settings.Field, name string, raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return err
	}
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		if key == "name" {
			continue
		}
		i := slices.IndexFunc(fs, func(f settings.Field) bool { return f.Key == key })
		if i < 0 {
			known := make([]string, len(fs))
			for j, f := range fs {
				known[j] = f.Key
			}
			errs = append(errs, fmt.Errorf("%s: is not a setting of %s (its settings: %s)", key, name, strings.Join(known, ", ")))
			continue
		}
		if err := setJSON(fs[i], keys[key]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// Build makes the processor the section describes.
func (s *Section) Build(d Deps) (provider.Processor, error) {
	return s.kind.build(s.settings, d)
}

// Check builds the processor and, where it offers a check, runs it.
func (s *Section) Check(ctx context.Context, d Deps) error {
	p, err := s.Build(d)
	if err != nil {
		return err
	}
	if c, ok := p.(Checker); ok {
		return c.Check(ctx)
	}
	return nil
}

// Same reports whether o is the same processor with the same settings,
// secrets included: merchants whose sections are the same may share it.
func (s *Section) Same(o *Section) bool {
	return s.Name == o.Name && reflect.DeepEqual(s.settings, o.settings)
}

// Shown is the section as a log line or a summary shows it: each
// setting by its key, secrets masked.
func (s *Section) Shown() map[string]string {
	shown := map[string]string{"name": s.Name}
	for _, f := range settings.Fields(s.settings) {
		shown[f.Key] = f.ShowText()
	}
	return shown
}

// String is Shown on one line, keys sorted: "sandbox (latency=0s …)".
func (s *Section) String() string {
	shown := s.Shown()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(shown)) {
		if k != "name" {
			parts = append(parts, k+"="+shown[k])
		}
	}
	return s.Name + " (" + strings.Join(parts, " ") + ")"
}

// setJSON reads a section key's value into a setting; a duration (or
// any setting read from text) is written as text ("30s").
func setJSON(f settings.Field, raw json.RawMessage) error {
	if _, ok := f.Value().(time.Duration); !ok {
		return json.Unmarshal(raw, f.Addr())
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return errors.New("is not a duration written as text, such as \"30s\"")
	}
	return f.Set(text)
}
