package idempotency

import _ "embed"

// Lua defines idem_check, idem_claim, idem_complete and idem_release for
// inclusion at the top of a script. See idempotency.lua for the record
// layout.
//
//go:embed idempotency.lua
var Lua string
