// Package settings reads configuration sections: structs whose fields
// carry their environment variable (`env`), a one-line meaning (`doc`),
// whether they are secret (`secret:"true"`, or `secret:"url"` for a URL
// whose password is the secret; `show:"url"` masks a URL's user info and
// query without calling it a secret), their DEV_MODE default (`dev`) and
// their bounds (`min`, `max`, `oneof`). A section's defaults are the
// value its package's Defaults function returns, so each is declared once
// in Go; its rules across fields are its Validate.
package settings

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Field is one setting of a section, bound to the section's value.
type Field struct {
	Env    string // its environment variable; "" for a setting read only from JSON
	Key    string // its JSON key, for sections also read from a file
	Doc    string
	Secret bool   // logged masked
	Dev    string // its default in DEV_MODE, where that differs
	tag    reflect.StructTag
	value  reflect.Value
}

// Fields are the settings of the section *ptr: the fields with an env or
// json tag, and those of the structs it holds without one, in order.
func Fields(ptr any) []Field {
	return fields(reflect.ValueOf(ptr).Elem())
}

func fields(v reflect.Value) []Field {
	var fs []Field
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		env := sf.Tag.Get("env")
		key, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if key == "-" {
			key = ""
		}
		if env == "" && key == "" {
			if sf.Type.Kind() == reflect.Struct && !reflect.PointerTo(sf.Type).Implements(textUnmarshaler) {
				fs = append(fs, fields(v.Field(i))...)
			}
			continue
		}
		fs = append(fs, Field{Env: env, Key: key, Doc: sf.Tag.Get("doc"), Secret: sf.Tag.Get("secret") != "",
			Dev: sf.Tag.Get("dev"), tag: sf.Tag, value: v.Field(i)})
	}
	return fs
}

// Load reads each setting of *ptr whose variable env gives, over the
// value already there (its defaults). Errors name the variable.
func Load(ptr any, env func(string) string) error {
	var errs []error
	for _, f := range Fields(ptr) {
		if text := env(f.Env); f.Env != "" && text != "" {
			if err := f.Set(text); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.Env, err))
			}
		}
	}
	return errors.Join(errs...)
}

// LoadDev gives the settings of *ptr that have a DEV_MODE default and
// whose variable is unset that default.
func LoadDev(ptr any, env func(string) string) {
	for _, f := range Fields(ptr) {
		if f.Dev != "" && env(f.Env) == "" {
			if err := f.Set(f.Dev); err != nil {
				panic(fmt.Sprintf("the DEV_MODE default of %s: %v", f.Env, err))
			}
		}
	}
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// Set reads text, as its variable would hold it, into the setting.
func (f Field) Set(text string) error {
	v := f.value
	switch {
	case v.Type() == durationType:
		d, err := f.duration(text)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case v.Addr().Type().Implements(textUnmarshaler):
		return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text))
	case v.Kind() == reflect.String:
		if set := f.tag.Get("oneof"); set != "" && !contains(strings.Fields(set), text) {
			return fmt.Errorf("%q is not %s", text, orList(strings.Fields(set)))
		}
		v.SetString(text)
	case v.Kind() == reflect.Bool:
		b, err := parseFlag(text)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case v.CanInt():
		n, err := f.number(text)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case v.Kind() == reflect.Slice:
		return f.setList(text)
	default:
		return fmt.Errorf("a setting of type %s cannot be read", v.Type())
	}
	return nil
}

func (f Field) duration(text string) (time.Duration, error) {
	d, err := time.ParseDuration(text)
	if err != nil {
		if f.tag.Get("min") == "1ns" {
			return 0, fmt.Errorf("%q is not a positive duration such as 30m", text)
		}
		return 0, fmt.Errorf("%q is not a duration such as 30s", text)
	}
	if min, ok := f.tag.Lookup("min"); ok {
		if m, _ := time.ParseDuration(min); d < m {
			if m == time.Nanosecond {
				return 0, fmt.Errorf("%q is not a positive duration such as 30m", text)
			}
			return 0, fmt.Errorf("%q is shorter than %s", text, min)
		}
	}
	return d, nil
}

func (f Field) number(text string) (int64, error) {
	n, err := strconv.ParseInt(text, 10, 64)
	min, hasMin := f.tag.Lookup("min")
	max, hasMax := f.tag.Lookup("max")
	lo, _ := strconv.ParseInt(min, 10, 64)
	hi, _ := strconv.ParseInt(max, 10, 64)
	switch {
	case err != nil && !hasMin && !hasMax:
		return 0, fmt.Errorf("%q is not a whole number", text)
	case hasMax && (err != nil || n < lo || n > hi):
		return 0, fmt.Errorf("%q is not a number from %d to %d%s", text, lo, hi, f.hint())
	case hasMin && (err != nil || n < lo):
		return 0, fmt.Errorf("%q is not a number of at least %d%s", text, lo, f.hint())
	}
	return n, nil
}

// hint is the setting's meaning, said after a refused value.
func (f Field) hint() string {
	if f.Doc == "" {
		return ""
	}
	return " (" + f.Doc + ")"
}

// setList reads a comma list: of text, blanks dropped, or of durations,
// none negative.
func (f Field) setList(text string) error {
	v := f.value
	var parts []string
	for _, p := range strings.Split(text, ",") {
		parts = append(parts, strings.TrimSpace(p))
	}
	switch v.Type().Elem() {
	case durationType:
		out := reflect.MakeSlice(v.Type(), 0, len(parts))
		for _, p := range parts {
			d, err := time.ParseDuration(p)
			if err != nil || d < 0 {
				return fmt.Errorf("%q is not a list of durations such as 0s,10s,1m", text)
			}
			out = reflect.Append(out, reflect.ValueOf(d))
		}
		v.Set(out)
	case reflect.TypeFor[string]():
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		v.Set(reflect.ValueOf(out))
	default:
		return fmt.Errorf("a setting of type %s cannot be read", v.Type())
	}
	return nil
}

func parseFlag(v string) (bool, error) {
	switch v {
	case "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, fmt.Errorf("%q is not 1 or 0", v)
}

func contains(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// orList says "a, b or c".
func orList(set []string) string {
	if len(set) < 2 {
		return strings.Join(set, "")
	}
	return strings.Join(set[:len(set)-1], ", ") + " or " + set[len(set)-1]
}
