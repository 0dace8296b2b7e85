package idempotency

import (
	_ "embed"
	"fmt"
	"reflect"
	"strings"
)

// Record is the layout of a guid's record, a Redis hash: the field each
// part is kept in. It is the one definition: Go reads the record by these
// names, and every script that includes Lua reads it through the table
// REC made from them (REC.state, REC.token, …).
var Record = struct {
	State       string // "run" while the request runs, "done" once its reply is stored
	Fingerprint string // the request's fingerprint (endpoint + canonical body)
	Token       string // the lease holder's token, while running
	Action      string // a running purchase, void or refund: its action…
	Amount      string // …and amount, which the reconciler needs to settle it if the request dies
	Status      string // the stored HTTP status
	Body        string // the stored body
	Expires     string // when the stored reply expires (unix ms)
	Order       string // the order the guid was used on, so an operator finds the order by its guid
}{
	State: "s", Fingerprint: "f", Token: "t", Action: "a", Amount: "m",
	Status: "c", Body: "b", Expires: "x", Order: "o",
}

// Lua defines REC (Record as a Lua table) and idem_read, idem_check,
// idem_claim and idem_complete, for inclusion at the top of a script.
var Lua = recordLua() + functionsLua

//go:embed idempotency.lua
var functionsLua string

// recordLua spells Record as `local REC = {state = 's', …}`.
func recordLua() string {
	v := reflect.ValueOf(Record)
	parts := make([]string, v.NumField())
	for i := range parts {
		name := v.Type().Field(i).Name
		parts[i] = fmt.Sprintf("%s = '%s'", strings.ToLower(name[:1])+name[1:], v.Field(i).String())
	}
	return "local REC = {" + strings.Join(parts, ", ") + "}\n"
}
