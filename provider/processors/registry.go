// Package processors is where the gateway's processors live and the
// registry that builds them from configuration. Each processor is a
// package under this one with a settings section of its own (a struct
// whose fields carry `json`, `env` and `secret` tags, its defaults and a
// Validate that names the bad field); adding one is that package plus
// its line in Builtin.
package processors

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// Settings is a processor's section.
type Settings interface {
	// Validate names each bad field by its JSON key ("clientId: is
	// required"), several joined with errors.Join.
	Validate() error
}

// Deps are what the gateway lends a processor it builds.
type Deps struct {
	Books  redis.UniversalClient // where a processor that plays the bank keeps its books (the sandbox)
	ACSURL string                // where the sandbox's 3-D Secure page is reached (SANDBOX_ACS_URL)
	Now    func() time.Time      // the bank's clock; nil: the wall clock (a test passes one it moves)
}

// Checker is a processor that can prove its settings before the gateway
// takes payments (-check-config): credentials accepted, endpoints reached.
type Checker interface {
	Check(ctx context.Context) error
}

// Kind is one processor the gateway can build: a line of the registry.
type Kind struct {
	Name     string
	defaults func() Settings
	build    func(Settings, Deps) (provider.Processor, error)
}

// Register makes the registry line of a processor whose section is *S,
// starting at defaults.
func Register[S any, PS interface {
	*S
	Settings
}](name string, defaults func() PS, build func(PS, Deps) (provider.Processor, error)) Kind {
	return Kind{
		Name:     name,
		defaults: func() Settings { return defaults() },
		build:    func(s Settings, d Deps) (provider.Processor, error) { return build(s.(PS), d) },
	}
}

// Registry is the processors a gateway can build, by name.
type Registry []Kind

// Builtin is the gateway's registry: adding a processor is its package
// and one line here.
var Builtin = Registry{
	Register(sandbox.Name, sandbox.Defaults, func(s *sandbox.Settings, d Deps) (provider.Processor, error) {
		o := s.Options()
		o.ACSURL, o.Now = d.ACSURL, d.Now
		return sandbox.New(d.Books, o), nil
	}),
	Register(nestpay.Name, nestpay.Defaults, func(s *nestpay.Settings, _ Deps) (provider.Processor, error) {
		return nestpay.New(*s)
	}),
}

// Names are the registered processors' names, in registry order.
func (r Registry) Names() []string {
	names := make([]string, len(r))
	for i, k := range r {
		names[i] = k.Name
	}
	return names
}

func (r Registry) kind(name string) (*Kind, error) {
	i := slices.IndexFunc(r, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("%q is not a processor this gateway has (known: %s)", name, strings.Join(r.Names(), ", "))
	}
	return &r[i], nil
}
