package main

import "github.com/akinon-gateway/gateway/provider/processors/sandbox"

// knownProcessors are the banks a merchant can pay through, by the name
// PROCESSOR or a merchant's processor section gives. The sandbox, a test
// bank that moves no money, is the only one so far; a bank's adapter is
// connected by adding its name here and building it in assemble.
var knownProcessors = []string{sandbox.Name}
