package processors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/akinon-gateway/gateway/provider"
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
	v := reflect.ValueOf(s).Elem()
	fs := fields(v.Type())
	var errs []error
	for _, f := range fs {
		if text := env(f.env); f.env != "" && text != "" {
			if err := setText(v.Field(f.index), text); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.env, err))
			}
		}
	}
	errs = append(errs, readJSON(v, fs, name, raw))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &Section{Name: name, kind: k, settings: s}, nil
}

// readJSON sets the fields raw's keys name, refusing a key that is none.
func readJSON(v reflect.Value, fs []field, name string, raw json.RawMessage) error {
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
		i := slices.IndexFunc(fs, func(f field) bool { return f.key == key })
		if i < 0 {
			known := make([]string, len(fs))
			for j, f := range fs {
				known[j] = f.key
			}
			errs = append(errs, fmt.Errorf("%s: is not a setting of %s (its settings: %s)", key, name, strings.Join(known, ", ")))
			continue
		}
		if err := setJSON(v.Field(fs[i].index), keys[key]); err != nil {
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
	v := reflect.ValueOf(s.settings).Elem()
	shown := map[string]string{"name": s.Name}
	for _, f := range fields(v.Type()) {
		shown[f.key] = f.show(v.Field(f.index))
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

// field is one setting of a section's struct.
type field struct {
	index  int
	key    string // its JSON key
	env    string // its environment variable, if it has one
	secret bool
}

func fields(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || key == "" || key == "-" {
			continue
		}
		fs = append(fs, field{index: i, key: key, env: sf.Tag.Get("env"), secret: sf.Tag.Get("secret") == "true"})
	}
	return fs
}

func (f field) show(v reflect.Value) string {
	if f.secret {
		if v.IsZero() {
			return ""
		}
		return "***"
	}
	return fmt.Sprint(v.Interface())
}

var durationType = reflect.TypeFor[time.Duration]()

// setText reads an environment variable's text into a setting.
func setText(v reflect.Value, text string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s", text)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(text)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q is not 1 or 0", text)
		}
		v.SetBool(b)
	case v.CanInt():
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", text)
		}
		v.SetInt(n)
	default:
		return fmt.Errorf("a setting of type %s cannot be read", v.Type())
	}
	return nil
}

// setJSON reads a section key's value into a setting; a duration is
// written as text ("30s").
func setJSON(v reflect.Value, raw json.RawMessage) error {
	if v.Type() != durationType {
		return json.Unmarshal(raw, v.Addr().Interface())
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return errors.New("is not a duration written as text, such as \"30s\"")
	}
	return setText(v, text)
}
