package app

import (
	"fmt"
	"slices"

	"github.com/akinon-gateway/gateway/extension/observe"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors"
	"go.opentelemetry.io/otel/trace"
	"net/http"
)

// processorEnv is how a processor section reads its variables.
func (c Config) processorEnv() func(string) string {
	return func(name string) string { return c.ProcessorEnv[name] }
}

// buildProcessors makes each merchant's processors from its sections.
// Merchants whose sections are the same share one processor.
// The first processor built that serves a page of its own (the sandbox's
// 3-D Secure ACS) is returned as acs.
func buildProcessors(sections map[string][]*processors.Section, deps processors.Deps, m *observe.Metrics,
	tp trace.TracerProvider) (banks map[string]provider.MerchantProcessors, acs http.Handler, err error) {
	type made struct {
		sec *processors.Section
		p   provider.Processor
	}
	var built []made
	out := make(map[string]provider.MerchantProcessors, len(sections))
	for id, secs := range sections {
		mp := provider.MerchantProcessors{Default: secs[0].Name, ByName: map[string]provider.Processor{}}
		for _, sec := range secs {
			i := slices.IndexFunc(built, func(b made) bool { return b.sec.Same(sec) })
			if i < 0 {
				raw, err := sec.Build(deps)
				if err != nil {
					return nil, nil, fmt.Errorf("merchant %q: processor %s: %w", id, sec.Name, err)
				}
				if page, ok := raw.(interface{ ACS() http.Handler }); ok && acs == nil {
					acs = page.ACS()
				}
				built = append(built, made{sec, observe.Processor(sec.Name, raw, m, tp)})
				i = len(built) - 1
			}
			mp.ByName[sec.Name] = built[i].p
		}
		out[id] = mp
	}
	return out, acs, nil
}

// shownSections are the merchants' processor sections as the
// configuration line shows them: by merchant, each setting by its key,
// secrets masked.
func shownSections(sections map[string][]*processors.Section) map[string][]map[string]string {
	shown := make(map[string][]map[string]string, len(sections))
	for id, secs := range sections {
		for _, sec := range secs {
			shown[id] = append(shown[id], sec.Shown())
		}
	}
	return shown
}
