package app

import (
	"github.com/akinon-gateway/gateway/provider"
)

// Service is the payment service built as Run builds its own (newService),
// over store and with bank as the processor named name that every
// merchant pays through, but without the metrics wrapper, the events, the
// Redis connection, the HTTP side or the background work: for tests of
// the service and its adapters (gatewaytest.Service). A nil bank is a
// service without processors (its reads and operator calls only).
// WithClock and WithProcessors apply (the wrapper sees merchant "").
func Service(store provider.Store, name string, bank provider.Processor, cfg provider.Config, opts ...Option) *provider.Service {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if bank == nil {
		return newService(store, nil, "", cfg, o)
	}
	if o.wrap != nil {
		bank = o.wrap("", name, bank)
	}
	return newService(store, map[string]provider.Processor{name: bank}, name, cfg, o)
}

// newService is the service over store with the fallback processors, on
// the test's clock when it gives one.
func newService(store provider.Store, procs map[string]provider.Processor, fallback string, cfg provider.Config, o options) *provider.Service {
	svc := provider.NewService(store, procs, fallback, cfg)
	if o.now != nil {
		svc.SetClock(o.now)
	}
	return svc
}
