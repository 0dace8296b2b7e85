package gatewaytest

import (
	"github.com/akinon-gateway/gateway/cmd/gateway/app"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// Service is the payment service alone, built as the gateway builds its
// own (app.Service), over store with bank as the sandbox every merchant
// pays through: for tests that drive the service and a store of their
// own without HTTP. A nil bank is a service without processors.
func Service(store provider.Store, bank provider.Processor, cfg provider.Config, opts ...app.Option) *provider.Service {
	return app.Service(store, sandbox.Name, bank, cfg, opts...)
}
