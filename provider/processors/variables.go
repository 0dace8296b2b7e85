package processors

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
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
	field     field
}

// Variables are the environment variables of every registered processor.
func (r Registry) Variables() []Variable {
	var vs []Variable
	for i := range r {
		k := &r[i]
		v := reflect.ValueOf(k.defaults()).Elem()
		for _, f := range fields(v.Type()) {
			if f.env != "" {
				vs = append(vs, Variable{Name: f.env, Default: written(v.Field(f.index)), Secret: f.secret,
					Processor: k.Name, kind: k, field: f})
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
		if strings.HasPrefix(e.Error(), v.field.key+":") {
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
	return v.field.show(reflect.ValueOf(s).Elem().Field(v.field.index))
}

func (v Variable) read(text string) (Settings, error) {
	s := v.kind.defaults()
	if text != "" {
		if err := setText(reflect.ValueOf(s).Elem().Field(v.field.index), text); err != nil {
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

// written is a default as one would write it in the variable: 9600h, not
// 9600h0m0s.
func written(v reflect.Value) string {
	if v.Type() != durationType {
		if v.IsZero() {
			return ""
		}
		return fmt.Sprint(v.Interface())
	}
	s := time.Duration(v.Int()).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
