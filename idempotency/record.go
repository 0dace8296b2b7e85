package idempotency

import (
	"strconv"
	"time"
)

// Headers the HTTP adapter sets from a Found.
const (
	HeaderReplayed = "Idempotent-Replayed"
	HeaderExpires  = "Idempotency-Expires"
)

// Kind is what a guid's record said.
type Kind int

const (
	New      Kind = iota + 1 // unknown guid: now claimed
	InFlight                 // claimed by a request still running
	Reused                   // used for another request
	Replay                   // finished: Status and Body are its reply
)

// Found is a record's answer.
type Found struct {
	Kind    Kind
	Status  int
	Body    []byte
	Expires time.Time
}

// Parse reads the reply of idem_check (nil for an unknown guid, which the
// caller's script then claims). ok is false if the reply is not one.
func Parse(reply []any) (f Found, ok bool) {
	if len(reply) == 0 {
		return Found{}, false
	}
	switch reply[0] {
	case "reused":
		return Found{Kind: Reused}, true
	case "inflight":
		return Found{Kind: InFlight}, true
	case "replay":
		if len(reply) < 4 {
			return Found{}, false
		}
		return replay(reply[1], reply[2], reply[3]), true
	}
	return Found{}, false
}

// StoredFields are the fields of a record Stored reads, in the order
// HMGET returns them.
var StoredFields = []string{Record.State, Record.Fingerprint, Record.Status, Record.Body, Record.Expires}

// Stored reads a record's StoredFields, as HMGET returns them, for a
// request whose fingerprint is fp. It knows one case only, the one a
// read settles: a finished record of the same request is a Replay. Any
// other record is left to the script that claims the guid, where
// idem_check decides; present is false when there is no record at all.
func Stored(fields []any, fp string) (f Found, present bool) {
	if len(fields) != len(StoredFields) || fields[0] == nil {
		return Found{}, false
	}
	if str(fields[0]) != "done" || str(fields[1]) != fp {
		return Found{}, true
	}
	return replay(fields[2], fields[3], fields[4]), true
}

// replay is a stored reply from its status, body and expiry (unix ms).
func replay(status, body, expires any) Found {
	code, _ := strconv.Atoi(str(status))
	ms, _ := strconv.ParseInt(str(expires), 10, 64)
	return Found{Kind: Replay, Status: code, Body: []byte(str(body)), Expires: time.UnixMilli(ms)}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
