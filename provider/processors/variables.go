package processors

import (
	"errors"
	"strings"

	"github.com/akinon-gateway/gateway/provider/settings"
)

// Variable is an environment variable a processor's section reads: it
// sets the setting for every merchant of that processor, and a merchant's
// own section may override it.
type Variable struct {
	Name      string
	Default   string // the default, as the variable would be written ("" for none)
	Secret    bool
	Processor string
	kind      *Kind
	index     int // of the setting among its section's fields
}

// Variables are the environment variables of every registered processor.
func (r Registry) Variables() []Variable {
	var vs []Variable
	for i := range r {
		k := &r[i]
		for j, f := range settings.Fields(k.defaults()) {
			if f.Env != "" {
				vs = append(vs, Variable{Name: f.Env, Default: f.Written(), Secret: f.Secret,
					Processor: k.Name, kind: k, index: j})
			}
		}
	}
	return vs
}

// Check refuses text the variable must not hold: one that does not
// read, or that its processor's Validate refuses for this setting (its
// other settings may yet come from a merchant's section).
func (v Variable) Check(text string) error {
	s, err := v.read(text)
	if err != nil {
		return err
	}
	var mine []error
	for _, e := range split(s.Validate()) {
		if strings.HasPrefix(e.Error(), v.key()+":") {
			mine = append(mine, e)
		}
	}
	return errors.Join(mine...)
}

// Show is the value text gives the setting, as the configuration line
// shows it: a secret masked.
func (v Variable) Show(text string) string {
	s, err := v.read(text)
	if err != nil {
		return ""
	}
	return settings.Fields(s)[v.index].ShowText()
}

func (v Variable) key() string { return settings.Fields(v.kind.defaults())[v.index].Key }

func (v Variable) read(text string) (Settings, error) {
	s := v.kind.defaults()
	if text != "" {
		if err := settings.Fields(s)[v.index].Set(text); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// split undoes errors.Join.
func split(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
