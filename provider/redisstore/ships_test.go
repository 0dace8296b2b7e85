package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// sentBytes counts the EVALSHA calls sent and the bytes of their keys
// and arguments (the script's sha and the key count left out).
type sentBytes struct {
	mu    sync.Mutex
	calls int
	bytes int
	args  []string
}

func (s *sentBytes) DialHook(next redis.DialHook) redis.DialHook { return next }
func (s *sentBytes) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (s *sentBytes) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if a := cmd.Args(); len(a) > 3 && strings.EqualFold(fmt.Sprint(a[0]), "evalsha") {
			s.mu.Lock()
			s.calls++
			for _, v := range a[3:] {
				s.bytes += len(fmt.Sprint(v))
				s.args = append(s.args, fmt.Sprint(v))
			}
			s.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

// take returns what was counted since the last take.
func (s *sentBytes) take() (calls, bytes int, args string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls, bytes, args = s.calls, s.bytes, strings.Join(s.args, " ")
	s.calls, s.bytes, s.args = 0, 0, nil
	return calls, bytes, args
}

// TestBeginShips: a Begin is one EVALSHA whose arguments are the call's
// own values; the state machine is in the script, not shipped each time.
func TestBeginShips(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	m := &sentBytes{}
	rdb.AddHook(m)
	store := redisstore.New(rdb, redistest.Prefix(t), 1)
	ctx := context.Background()
	now := time.Now()
	in := provider.BeginInput{
		Claim: provider.Claim{Merchant: "m1", OrderID: "o1", GUID: "g1", Token: "tok", Fingerprint: "fp"},
		Lease: time.Minute, Deadline: now.Add(time.Minute),
		Ask: provider.Ask{Action: provider.ActionStart, GUID: "g1", Currency: "TRY", Now: now},
	}
	in.New = &provider.Session{ID: "new-o1", TransactionID: "t", Merchant: "m1", OrderID: "o1",
		StartGUID: "g1", Type: provider.Sale, Currency: "TRY", Amount: 5000, CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), Phase: provider.PhaseWaiting}
	in.StartStep = provider.MarshalStep(in.New.StartStep())
	in.Reply, in.TTL = provider.Reply{Status: 200, Body: []byte(`{"started":true}`), Expires: now.Add(time.Hour)}, time.Hour
	purchase := in
	purchase.New, purchase.StartStep, purchase.Reply, purchase.TTL = nil, "", provider.Reply{}, 0
	purchase.GUID, purchase.Ask.GUID, purchase.Ask.Action, purchase.Ask.Amount = "g2", "g2", provider.ActionPurchase, 5000
	for _, c := range []struct {
		name     string
		in       provider.BeginInput
		want     provider.BegunKind
		maxBytes int
	}{
		{"start-session", in, provider.Claimed, 1100},
		{"start-session replayed", in, provider.Replayed, 1100},
		{"purchase", purchase, provider.Refused, 350},
	} {
		b, err := store.Begin(ctx, c.in)
		if err != nil || b.Kind != c.want {
			t.Fatalf("%s: Begin = %v, %v; want kind %v", c.name, b.Kind, err, c.want)
		}
		calls, n, args := m.take()
		t.Logf("%s: %d EVALSHA, %d bytes of keys and arguments", c.name, calls, n)
		if calls != 1 || n > c.maxBytes {
			t.Errorf("%s: %d calls and %d bytes, want 1 and at most %d", c.name, calls, n, c.maxBytes)
		}
		if strings.Contains(args, "AUTHORISED=") {
			t.Errorf("%s: the rule table was shipped: %s", c.name, args)
		}
	}
}
