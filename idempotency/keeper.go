package idempotency

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
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

// Keeper keeps guid records on their own, for callers that guard no other
// state. It runs the same Lua functions the storage adapter includes.
type Keeper struct {
	rdb   redis.UniversalClient
	lease time.Duration
	ttl   time.Duration
	now   func() time.Time
}

// NewKeeper returns a Keeper whose claims last lease and whose replies are
// kept for ttl.
func NewKeeper(rdb redis.UniversalClient, lease, ttl time.Duration) *Keeper {
	return &Keeper{rdb: rdb, lease: lease, ttl: ttl, now: time.Now}
}

var (
	claimScript = redis.NewScript(Lua + `
local seen = idem_check(KEYS[1], ARGV[1])
if seen then return seen end
idem_claim(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]))
return {'new'}
`)
	completeScript = redis.NewScript(Lua + `
return idem_complete(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]))
`)
	releaseScript = redis.NewScript(Lua + `
return idem_release(KEYS[1], ARGV[1])
`)
)

// Claim claims key for token, or says why not.
func (k *Keeper) Claim(ctx context.Context, key, fingerprint, token string) (Found, error) {
	v, err := claimScript.Run(ctx, k.rdb, []string{key}, fingerprint, token, k.lease.Milliseconds()).Slice()
	if err != nil {
		return Found{}, fmt.Errorf("idempotency: claim: %w", err)
	}
	if len(v) > 0 && v[0] == "new" {
		return Found{Kind: New}, nil
	}
	f, ok := Parse(v)
	if !ok {
		return Found{}, fmt.Errorf("idempotency: claim: unexpected reply %v", v)
	}
	return f, nil
}

// Complete stores a reply for key and returns when it will be forgotten.
func (k *Keeper) Complete(ctx context.Context, key, fingerprint string, status int, body []byte) (time.Time, error) {
	expires := k.now().Add(k.ttl)
	err := completeScript.Run(ctx, k.rdb, []string{key}, fingerprint, status, body, expires.UnixMilli(), k.ttl.Milliseconds()).Err()
	if err != nil {
		return time.Time{}, fmt.Errorf("idempotency: complete: %w", err)
	}
	return expires, nil
}

// Release forgets a running claim held by token.
func (k *Keeper) Release(ctx context.Context, key, token string) error {
	if err := releaseScript.Run(ctx, k.rdb, []string{key}, token).Err(); err != nil {
		return fmt.Errorf("idempotency: release: %w", err)
	}
	return nil
}
