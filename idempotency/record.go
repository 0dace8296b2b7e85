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
		status, _ := strconv.Atoi(str(reply[1]))
		ms, _ := strconv.ParseInt(str(reply[3]), 10, 64)
		return Found{Kind: Replay, Status: status, Body: []byte(str(reply[2])), Expires: time.UnixMilli(ms)}, true
	}
	return Found{}, false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
