package settings

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// limit reads itself from text, as provider.Limit does.
type limit struct{ n int }

func (l *limit) UnmarshalText(b []byte) error {
	if string(b) != "7" {
		return errFake
	}
	l.n = 7
	return nil
}

func (l limit) String() string { return "seven" }

var errFake = errors.New("not seven")

type inner struct {
	Limit limit `env:"LIMIT" dev:"7"`
}

type section struct {
	Wait     time.Duration   `env:"WAIT" min:"1ns"`
	Delay    time.Duration   `env:"DELAY"`
	Count    int             `env:"COUNT" min:"1" max:"9" doc:"how many"`
	Floor    int             `env:"FLOOR" min:"0"`
	On       bool            `env:"ON"`
	Format   string          `env:"FORMAT" oneof:"json console"`
	Hosts    []string        `env:"HOSTS"`
	Schedule []time.Duration `env:"SCHEDULE"`
	Key      string          `env:"KEY" secret:"true"`
	URL      string          `env:"URL" secret:"url"`
	Hook     string          `env:"HOOK" show:"url"`
	Inner    inner
	Hidden   int // no variable: never read
}

// TestLoad reads each kind of setting, and refuses what each refuses in
// an error that names its variable.
func TestLoad(t *testing.T) {
	tests := []struct {
		name, text string
		shown      any    // what Show gives after reading text
		err        string // in the error; "" when text is read
	}{
		{"WAIT", "90s", "1m30s", ""},
		{"WAIT", "0s", nil, `WAIT: "0s" is not a positive duration such as 30m`},
		{"DELAY", "-1s", "-1s", ""},
		{"DELAY", "soon", nil, `DELAY: "soon" is not a duration such as 30s`},
		{"COUNT", "9", int64(9), ""},
		{"COUNT", "10", nil, `COUNT: "10" is not a number from 1 to 9 (how many)`},
		{"FLOOR", "-1", nil, `FLOOR: "-1" is not a number of at least 0`},
		{"ON", "true", true, ""},
		{"ON", "yes", nil, `ON: "yes" is not 1 or 0`},
		{"FORMAT", "xml", nil, `FORMAT: "xml" is not json or console`},
		{"HOSTS", "a, b,", []string{"a", "b"}, ""},
		{"SCHEDULE", "0s,1m", "0s,1m0s", ""},
		{"SCHEDULE", "0s,-1m", nil, `SCHEDULE: "0s,-1m" is not a list of durations`},
		{"KEY", "s3cr3t", "***", ""},
		{"URL", "redis://u:pw@h:6379?token=x", "redis://u:***@h:6379?token=***", ""},
		{"HOOK", "https://tok@h/x", "https://***@h/x", ""},
		{"LIMIT", "7", "seven", ""},
		{"LIMIT", "8", nil, "LIMIT: not seven"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.text, func(t *testing.T) {
			var s section
			err := Load(&s, func(k string) string {
				if k == tt.name {
					return tt.text
				}
				return ""
			})
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want %q", err, tt.err)
			case tt.err != "":
				return
			}
			for _, f := range Fields(&s) {
				if f.Env == tt.name {
					if got := f.Show(); fmtAny(got) != fmtAny(tt.shown) {
						t.Errorf("shown %#v, want %#v", got, tt.shown)
					}
				}
			}
		})
	}
}

func fmtAny(v any) string { return fmt.Sprintf("%v", v) }

// TestFieldsAndDefaults: a nested struct's settings are the section's,
// an untagged field is none, Written is the default as written, and
// LoadDev gives the DEV_MODE default only where the variable is unset.
func TestFieldsAndDefaults(t *testing.T) {
	s := section{Wait: 400 * 24 * time.Hour, Schedule: []time.Duration{0, time.Minute}}
	var names []string
	written := map[string]string{}
	for _, f := range Fields(&s) {
		names = append(names, f.Env)
		written[f.Env] = f.Written()
	}
	if got := strings.Join(names, ","); got != "WAIT,DELAY,COUNT,FLOOR,ON,FORMAT,HOSTS,SCHEDULE,KEY,URL,HOOK,LIMIT" {
		t.Errorf("fields %s", got)
	}
	for name, want := range map[string]string{"WAIT": "9600h", "SCHEDULE": "0s,1m", "ON": "0", "HOSTS": "", "COUNT": "0"} {
		if written[name] != want {
			t.Errorf("%s written %q, want %q", name, written[name], want)
		}
	}
	LoadDev(&s, func(string) string { return "" })
	if s.Inner.Limit.n != 7 {
		t.Errorf("the DEV_MODE default was not given")
	}
	s.Inner.Limit.n = 0
	LoadDev(&s, func(k string) string { return map[string]string{"LIMIT": "set"}[k] })
	if s.Inner.Limit.n != 0 {
		t.Errorf("the DEV_MODE default overrode a variable that is set")
	}
}
