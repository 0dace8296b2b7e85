package app

import (
	"github.com/akinon-gateway/gateway/provider"
)

// Service is the payment service as Run wires it, over store and with
// bank as the processor named name that every merchant pays through, but
// without the Redis connection, the HTTP side or the background work: for
// tests of the service and its adapters (gatewaytest.Service). A nil bank
// is a service without processors (its reads and operator calls only).
// WithClock and WithProcessors apply (the wrapper sees merchant "").
func Service(store provider.Store, name string, bank provider.Processor, cfg provider.Config, opts ...Option) *provider.Service {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var procs map[string]provider.Processor
	if bank != nil {
		if o.wrap != nil {
			bank = o.wrap("", name, bank)
		}
		procs = map[string]provider.Processor{name: bank}
	} else {
		name = ""
	}
	svc := provider.NewService(store, procs, name, cfg)
	if o.now != nil {
		svc.SetClock(o.now)
	}
	return svc
}
