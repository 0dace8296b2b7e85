package settings

import (
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Value is the setting as it is, for a caller that composes it.
func (f Field) Value() any { return f.value.Interface() }

// Show is the setting's value as the configuration line shows it: a
// secret masked, a duration or a value that describes itself as text, a
// number, flag or list as itself.
func (f Field) Show() any {
	v := f.value
	switch {
	case f.tag.Get("secret") == "url" || f.tag.Get("show") == "url":
		return MaskURL(v.String())
	case f.Secret:
		if v.IsZero() {
			return ""
		}
		return "***"
	case v.Type().Kind() == reflect.Slice && v.Type().Elem() == durationType:
		return f.joined(time.Duration.String)
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	return v.Interface()
}

// ShowText is Show as text, for a summary.
func (f Field) ShowText() string { return fmt.Sprint(f.Show()) }

// Written is the value as one would write it in its variable: 9600h,
// not 9600h0m0s; "" for an empty text, list or URL.
func (f Field) Written() string {
	v := f.value
	switch {
	case v.Type() == durationType:
		return written(time.Duration(v.Int()))
	case v.Kind() == reflect.Slice && v.Type().Elem() == durationType:
		return f.joined(written)
	case v.Kind() == reflect.Bool:
		if v.Bool() {
			return "1"
		}
		return "0"
	case v.Kind() == reflect.Slice:
		if v.Len() == 0 {
			return ""
		}
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprint(v.Interface())
}

func (f Field) joined(format func(time.Duration) string) string {
	ds := f.value.Interface().([]time.Duration)
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = format(d)
	}
	return strings.Join(parts, ",")
}

func written(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MaskURL hides what a URL may carry of a secret: the password (or a
// lone user, which may be a token), and every query value. A value that
// does not parse is masked whole.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if raw == "" {
			return ""
		}
		return "***"
	}
	var user string
	if u.User != nil {
		user = u.User.Username() + ":***@"
		if _, has := u.User.Password(); !has {
			user = "***@"
		}
		u.User = nil
	}
	if u.RawQuery != "" {
		q := u.Query()
		keys := slices.Sorted(maps.Keys(q))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = url.QueryEscape(k) + "=***"
		}
		u.RawQuery = ""
		return insertUser(u.String(), user) + "?" + strings.Join(parts, "&")
	}
	return insertUser(u.String(), user)
}

// insertUser puts masked user info after a URL's "//"; url.UserPassword
// would escape the mask to %2A%2A%2A.
func insertUser(s, user string) string {
	if user == "" {
		return s
	}
	i := strings.Index(s, "//") + len("//")
	return s[:i] + user + s[i:]
}

// Addr is a pointer to the setting, for a decoder.
func (f Field) Addr() any { return f.value.Addr().Interface() }
