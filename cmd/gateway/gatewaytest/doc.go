// Package gatewaytest is the one way a test gets a gateway: the
// production assembly of cmd/gateway/app, started in this process or as a
// process of its own, with the parts a test drives it by.
//
// In process (the program's Run, with test seams passed as app options):
//
//	g := gatewaytest.Start(t, gatewaytest.Env(gatewaytest.FreeAddr(t), redisURL, hookURL, nil),
//		app.WithClock(clock.Now),                 // a Clock a test moves
//		app.WithProcessors(wrap),                  // hold or count the bank's calls
//		app.WithLogCore(observedCore),             // read the log (zaptest/observer)
//		app.WithProcessorKinds(kind),              // a bank only the test has, for MERCHANTS_FILE's sections
//		app.WithTracerProvider(tp),                // trace into an SDK of the test's (tracetest's in-memory exporter)
//		app.WithRedisOptions(tune))                // the Redis client's retries and timeouts, for a test that kills its server
//	g.Base; g.Service; g.Store; g.Merchants; g.Handler; g.Admin
//	g.Server.Echo().Routes() // the routes the HTTP side serves
//	g.Stop() // what Run returned; cleanup stops it otherwise
//
// app.WithClock moves the sandbox bank's clock too (a PENDING card's
// verdict comes due with it).
//
// The payment service alone, built as the gateway builds its own (app.Service),
// for tests that drive the service and a store of their own without HTTP
// (the store's, the adapters' and the audit's tests):
//
//	svc := gatewaytest.Service(st, bank, cfg, app.WithClock(clock.Now)) // bank: the sandbox every merchant pays through; nil for none
//
// A test gets a gateway or a wired provider.Service only from this
// package: provider.NewService is called by hand only here (through app)
// and in package provider's own tests.
//
// Run is Start returning only Base and Stop. Env sets ADDR, PUBLIC_URL, the test
// merchant's credentials (User, Password, HashKey, WebhookKey), DEV_MODE
// and short background intervals; an empty redisURL is the embedded store.
//
// As a process (one go build of ./cmd/gateway per test binary; call Main
// from TestMain so the binary and the shared redis-server are removed):
//
//	func TestMain(m *testing.M) { gatewaytest.Main(m) }
//	p := gatewaytest.StartProcess(t, env) // waits for /healthz
//	p.Base; p.Pid(); p.Kill() /* SIGKILL */; p.Restart()
//
// To talk to it:
//
//	a := gatewaytest.AkinonAt(g.Base)                  // the test merchant; Akinon{Base, User, Password} for another
//	ans := a.Post("/start-session", body)              // Answer: Status, Header, Body, Err; Code(), Decode(&v)
//	status := a.Call(t, "/history", body, &out)        // fails the test on a broken connection
//	sid, redirect := a.StartSession(t, order)          // a SALE session of 120.50 TRY
//	ans = gatewaytest.Shop(redirect, card)             // the shopper: hosted page, card form (HTTP); MustShop fails on Err
//	ans = gatewaytest.ShopThreeDS(t, redirect)         // the same through the sandbox ACS and back
//	back := gatewaytest.NewChromium(t).Pay(t, redirect, card) // in Chromium: the fields posted to ReturnURL
//	op := gatewaytest.Operator{Base: g.Base, User: u, Password: p} // the operator endpoints, as a script calls them
//	status = op.Call(t, http.MethodGet, "/admin/doubts", &out) // each exchange held against openapi.json
//
// The Akinon client is commerce.Gateway and the page is read by
// hostedpage, the parts the checkout driver ships (cmd/checkout).
//
// And the test's own tools: NewClock (a clock that moves only when told),
// FreeAddr (a loopback address nobody listens on) and Eventually (wait for
// a condition with a deadline, never a bare sleep).
package gatewaytest
