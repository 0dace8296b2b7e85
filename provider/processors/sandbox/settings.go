package sandbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// Settings is the sandbox's section of a merchant's processor settings.
// Each field is read from its environment variable (env), which sets it
// for every merchant, and then from its key in the merchant's processor
// section (json); Defaults is where its default is declared.
type Settings struct {
	PendingDelay time.Duration `json:"pendingDelay" env:"SANDBOX_PENDING_DELAY"` // when a PENDING card's verdict is known
	Retention    time.Duration `json:"retention" env:"SANDBOX_RETENTION"`        // how long the bank keeps a reference
	Latency      time.Duration `json:"latency" env:"SANDBOX_LATENCY"`            // how long answers take after the bank acted
}

// Defaults is the sandbox's section before any setting is read.
func Defaults() *Settings {
	return &Settings{PendingDelay: 10 * time.Second, Retention: provider.DefaultRetention}
}

// Validate names the first bad setting by its key.
func (s *Settings) Validate() error {
	var errs []error
	if s.PendingDelay <= 0 {
		errs = append(errs, fmt.Errorf("pendingDelay: %v is not a positive duration", s.PendingDelay))
	}
	if s.Retention <= 0 {
		errs = append(errs, fmt.Errorf("retention: %v is not a positive duration", s.Retention))
	}
	if s.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency: %v is negative", s.Latency))
	}
	return errors.Join(errs...)
}

// Options are the bank's options these settings give.
func (s *Settings) Options() Options {
	return Options{PendingDelay: s.PendingDelay, Retention: s.Retention, Latency: s.Latency}
}
