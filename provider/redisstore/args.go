package redisstore

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/akinon-gateway/gateway/provider"
)

// The scripts with more than a few arguments take one, ARGV[1]: a JSON
// object of named values that the script decodes with cjson (A.guid,
// A.now, …). Numbers travel as decimal strings, so the script writes them
// into Redis exactly as Go spelled them, and a script hands a number it
// only writes to redis.call as that string: a Lua number costs Redis a
// printf each time it becomes a command's argument (1.5 µs a PEXPIRE on
// the bench machine, the command itself 0.5). A stored reply's body, a step
// and an event's body, JSON themselves and most of the bytes, travel
// beside it as they are, and so do the session fields the scripts that
// queue an event write (eventful): escaped inside the object they cost an
// encoding in Go and a decoding in the script. A start-session's fields
// stay inside: as arguments of their own each string costs Go an
// allocation (255 rather than 217 a call) to save Redis about 3 µs.

// named encodes a script's arguments.
func named(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// The argument types below hold only strings, numbers and flags.
		panic(fmt.Sprintf("redisstore: script arguments: %v", err))
	}
	return string(b)
}

// beginArgs are begin.lua's named arguments (the fingerprint and the
// token travel before them); Start is set for a start-session.
type beginArgs struct {
	Lease     int64      `json:"lease,string"`
	Action    string     `json:"action"`
	GUID      string     `json:"guid"`
	Amount    int64      `json:"amount,string"`
	Currency  string     `json:"currency"`
	Now       int64      `json:"now,string"`
	Deadline  int64      `json:"deadline,string"`
	Doubt     string     `json:"doubt"`
	Retention int64      `json:"retention,string"`
	Order     string     `json:"order"`
	Start     *startArgs `json:"start,omitempty"`
}

// startArgs are what a start-session writes: the new session and its
// stored reply (its body and the first step travel beside them).
type startArgs struct {
	Owner     string   `json:"owner"`            // the session-id index's value
	Expiry    string   `json:"expiry"`           // the expiry schedule's member…
	ExpiresAt int64    `json:"expiresAt,string"` // …and its score, the session's expiresAt
	Status    int      `json:"status,string"`
	Expires   int64    `json:"expires,string"`
	TTL       int64    `json:"ttl,string"`
	Fields    []string `json:"fields"`
}

// finishArgs are finish.lua's named arguments (the reply's body and the
// step travel beside them); Settle is set when the request settles its
// reservation.
type finishArgs struct {
	GUID        string      `json:"guid"`
	Fingerprint string      `json:"fp"`
	Status      int         `json:"status,string"`
	Expires     int64       `json:"expires,string"`
	TTL         int64       `json:"ttl,string"`
	Doubt       string      `json:"doubt"`
	Retention   int64       `json:"retention,string"`
	Token       string      `json:"token"`
	Order       string      `json:"order"`
	Settle      *settleArgs `json:"settle,omitempty"`
}

type settleArgs struct {
	Phase    string `json:"phase"`
	Captured int64  `json:"captured,string"`
	Refunded int64  `json:"refunded,string"`
	Release  int64  `json:"release,string"`
}

// claimPaymentArgs are claim_payment.lua's arguments.
type claimPaymentArgs struct {
	SessionID   string `json:"sid"`
	Stage       string `json:"stage"`
	Token       string `json:"token"`
	Lease       int64  `json:"lease,string"`
	Now         int64  `json:"now,string"`
	Deadline    int64  `json:"deadline,string"`
	Doubt       string `json:"doubt"`
	Amount      int64  `json:"amount,string"`
	Installment int    `json:"installment,string"`
	BIN         string `json:"bin"`
	Last4       string `json:"last4"`
	Retention   int64  `json:"retention,string"`
}

// eventArgs are the webhook event a script queues with its change (ID
// empty: none). Its body travels beside the named arguments (eventful).
type eventArgs struct {
	ID   string `json:"id"`
	Body string `json:"-"`
	Due  int64  `json:"due,string"`
}

// eventful are the arguments of a script that rewrites the START step and
// queues an event: the named ones, then the step and the event's body as
// they are, then the session's fields to write, as ARGV[4] onwards.
func eventful(named string, step string, ev eventArgs, fields []string) []any {
	out := make([]any, 0, 3+len(fields))
	out = append(out, named, step, ev.Body)
	for _, f := range fields {
		out = append(out, f)
	}
	return out
}

// settlePaymentArgs are settle_payment.lua's arguments.
type settlePaymentArgs struct {
	Token     string    `json:"token"`
	Step      string    `json:"-"` // beside (eventful)
	Event     eventArgs `json:"event"`
	Now       int64     `json:"now,string"`
	Pending   string    `json:"pending"` // the pending schedule's member, '' for none
	ResolveAt int64     `json:"resolveAt,string"`
	Doubt     string    `json:"doubt"`
	Retention int64     `json:"retention,string"`
	Fields    []string  `json:"-"` // beside (eventful)
}

// refuseTryArgs are refuse_try.lua's arguments.
type refuseTryArgs struct {
	SessionID string    `json:"sid"`
	MaxTries  int       `json:"maxTries,string"`
	Now       int64     `json:"now,string"`
	Step      string    `json:"-"` // beside (eventful)
	Detail    string    `json:"detail"`
	Event     eventArgs `json:"event"`
	Retention int64     `json:"retention,string"`
}

// transitionArgs are transition.lua's arguments.
type transitionArgs struct {
	SessionID string    `json:"sid"`
	From      string    `json:"from"` // the phases it starts from, comma separated
	Expired   bool      `json:"expired"`
	Member    string    `json:"member"` // the schedule entry that led here
	Step      string    `json:"-"`      // beside (eventful)
	Event     eventArgs `json:"event"`
	Now       int64     `json:"now,string"`
	Retention int64     `json:"retention,string"`
	Fields    []string  `json:"-"` // beside (eventful)
}

// recordAttemptArgs are record_attempt.lua's arguments.
type recordAttemptArgs struct {
	ID        string `json:"id"`
	Claim     int64  `json:"claim,string"` // the score the claim set
	Outcome   string `json:"outcome"`
	Attempt   string `json:"attempt"` // one JSON line
	Next      int64  `json:"next,string"`
	Now       int64  `json:"now,string"`
	Retention int64  `json:"retention,string"`
}

// expirableLua spells provider.ExpirablePhases as a Lua set, EXPIRABLE,
// for effective_phase in session.lua.
func expirableLua() string {
	parts := make([]string, len(provider.ExpirablePhases))
	for i, p := range provider.ExpirablePhases {
		parts[i] = string(p) + " = true"
	}
	return "local EXPIRABLE = {" + strings.Join(parts, ", ") + "}\n"
}

// rulesLua spells the state machine (provider.RuleTable, one encoded
// column per action) as a Lua table, written into begin.lua when it is
// loaded, so the rules are not shipped with every call and still have
// one source.
func rulesLua() string {
	parts := make([]string, 0, len(provider.Actions))
	for _, a := range provider.Actions {
		parts = append(parts, fmt.Sprintf("%s = '%s'", a, provider.RuleTable(a)))
	}
	sort.Strings(parts)
	return "local RULES = {" + strings.Join(parts, ", ") + "}\n"
}
