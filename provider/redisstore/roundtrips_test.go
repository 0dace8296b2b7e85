package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/cmd/gateway/gatewaytest"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// tripCounter counts round trips to Redis: one per command sent alone,
// one per pipeline.
type tripCounter struct{ n atomic.Int64 }

// handshake says whether cmd is a new connection's (HELLO, CLIENT
// SETINFO): the pool's round trip, not the call's.
func handshake(cmd redis.Cmder) bool { return cmd.Name() == "hello" || cmd.Name() == "client" }

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		// A new connection's handshake is the pool's, not the call's.
		if !handshake(cmd) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !handshake(cmds[0]) {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// TestRoundTripsPerCall pins the cost the README states: a new mutating
// Akinon call takes two round trips (claim and reserve; settle and
// store), a replay one, and the hosted page's payment four. On a sharded
// store (a Cluster) every Akinon call first claims its guid in the
// registry: one more.
func TestRoundTripsPerCall(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) { roundTrips(t, shards) })
	}
}

func roundTrips(t *testing.T, shards int) {
	reg := int64(0) // the guid registry's round trip
	if shards > 1 {
		reg = 1
	}
	srv := redistest.Shared(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	counter := &tripCounter{}
	rdb.AddHook(counter)
	st := redisstore.New(rdb, redistest.Prefix(t), shards)
	cfg := provider.DefaultConfig()
	// The bank keeps its books on a client of its own: its round trips
	// are the bank's, not the gateway's.
	bank := sandbox.New(srv.Client(t), sandbox.Options{Prefix: redistest.Prefix(t), PendingDelay: time.Second})
	svc := gatewaytest.Service(st, bank, cfg)
	m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
	ctx := context.Background()
	ok := func(a provider.Answer) provider.Reply { return provider.Reply{Status: 200, Body: []byte("{}")} }
	req := func(order, guid string) provider.Request {
		return provider.Request{Merchant: m, GUID: guid, OrderID: order, Fingerprint: "fp-" + guid}
	}
	var sid string
	start := func(order string) {
		svc.SetRenderers(sessionIDOf(&sid))
		_, err := svc.StartSession(ctx, provider.StartInput{Request: req(order, "s-"+order), Type: provider.Sale, Amount: 10000,
			Currency: "TRY", Locale: "en", ReturnURL: "https://shop.example/r"})
		if err != nil {
			t.Fatal(err)
		}
	}
	pay := func() {
		sess, err := svc.Session(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Pay(ctx, m, sess, provider.CardForm{CardHolder: "A B", CardNumber: sandbox.CardApproved, Expiry: "12/39", CVC: "123"}); err != nil {
			t.Fatal(err)
		}
	}
	// Warm up: the first run of each script loads it (EVALSHA, then EVAL).
	start("warm")
	pay()
	for _, call := range []func(provider.OperationInput) (provider.Reply, error){
		func(in provider.OperationInput) (provider.Reply, error) { return svc.Purchase(ctx, in) },
		func(in provider.OperationInput) (provider.Reply, error) {
			in.Amount, in.Currency = 100, "TRY"
			return svc.Refund(ctx, in)
		},
	} {
		in := provider.OperationInput{Request: req("warm", "w"+time.Now().String())}
		if _, err := call(in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.History(ctx, req("warm", "wh"), ok); err != nil {
		t.Fatal(err)
	}

	trips := func(f func()) int64 {
		before := counter.n.Load()
		f()
		return counter.n.Load() - before
	}
	must := func(_ provider.Reply, err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		want int64
		call func()
	}{
		{"start-session", 1 + reg, func() { start("o1") }},
		{"hosted page payment", 4, pay},
		{"purchase", 2 + reg, func() { must(svc.Purchase(ctx, provider.OperationInput{Request: req("o1", "p1")})) }},
		{"purchase replayed", 1 + reg, func() { must(svc.Purchase(ctx, provider.OperationInput{Request: req("o1", "p1")})) }},
		{"refund", 2 + reg, func() {
			must(svc.Refund(ctx, provider.OperationInput{Request: req("o1", "r1"), Amount: 1000, Currency: "TRY"}))
		}},
		{"refund replayed", 1 + reg, func() {
			must(svc.Refund(ctx, provider.OperationInput{Request: req("o1", "r1"), Amount: 1000, Currency: "TRY"}))
		}},
		{"refund refused", 2 + reg, func() {
			must(svc.Refund(ctx, provider.OperationInput{Request: req("o1", "r2"), Amount: 999900, Currency: "TRY"}))
		}},
		{"history", 2 + reg, func() { must(svc.History(ctx, req("o1", "h1"), ok)) }},
		{"history replayed", 1 + reg, func() { must(svc.History(ctx, req("o1", "h1"), ok)) }},
		{"void", 2 + reg, func() { must(svc.Void(ctx, provider.OperationInput{Request: req("o2", "v1")})) }},
	}
	for _, c := range cases {
		if got := trips(c.call); got != c.want {
			t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
		}
	}
}

// sentBytes counts the EVALSHA and HMGET calls sent and the bytes of
// their keys and arguments (a script's sha and key count left out), and
// the scripts apart.
type sentBytes struct {
	mu      sync.Mutex
	calls   int
	scripts int
	bytes   int
	args    []string
}

func (s *sentBytes) DialHook(next redis.DialHook) redis.DialHook { return next }
func (s *sentBytes) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (s *sentBytes) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		a := cmd.Args()
		name := strings.ToLower(fmt.Sprint(a[0]))
		if from := map[string]int{"evalsha": 3, "hmget": 1}[name]; from > 0 && len(a) > from {
			s.mu.Lock()
			s.calls++
			if name == "evalsha" {
				s.scripts++
			}
			for _, v := range a[from:] {
				text := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					text = string(b)
				}
				s.bytes += len(text)
				s.args = append(s.args, text)
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
	s.calls, s.scripts, s.bytes, s.args = 0, 0, 0, nil
	return calls, bytes, args
}

// scriptsRun is how many of the calls since the last take were scripts.
func (s *sentBytes) scriptsRun() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scripts
}

// startBegin is the Begin of a start-session of order o1 under guid g1
// (fingerprint "fp"), whose stored reply is {"started":true}.
func startBegin(now time.Time) provider.BeginInput {
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
	return in
}

// TestBeginShips: a Begin is one EVALSHA whose arguments are the call's
// own values; the state machine is in the script, not shipped each time,
// and a replay of a guid the store saw finished ships a small request.
func TestBeginShips(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	m := &sentBytes{}
	rdb.AddHook(m)
	prefix := redistest.Prefix(t)
	store := redisstore.New(rdb, prefix, 1)
	ctx := context.Background()
	now := time.Now()
	in := startBegin(now)
	purchase := in
	purchase.New, purchase.StartStep, purchase.Reply, purchase.TTL = nil, "", provider.Reply{}, 0
	purchase.GUID, purchase.Ask.GUID, purchase.Ask.Action, purchase.Ask.Amount = "g2", "g2", provider.ActionPurchase, 5000
	for _, c := range []struct {
		name     string
		in       provider.BeginInput
		want     provider.BegunKind
		maxBytes int
		store    *redisstore.Store
	}{
		{"start-session", in, provider.Claimed, 1100, store},
		// QA's replay: the store saw the guid finished and sends only
		// what a replay reads.
		{"start-session replayed", in, provider.Replayed, 150, store},
		// Another replica has not seen it: the call goes whole.
		{"start-session replayed on another replica", in, provider.Replayed, 1100, redisstore.New(rdb, prefix, 1)},
		{"purchase", purchase, provider.Refused, 350, store},
	} {
		b, err := c.store.Begin(ctx, c.in)
		if err != nil || b.Kind != c.want {
			t.Fatalf("%s: Begin = %v, %v; want kind %v", c.name, b.Kind, err, c.want)
		}
		calls, n, args := m.take()
		t.Logf("%s: %d calls, %d bytes of keys and arguments", c.name, calls, n)
		if calls != 1 || n > c.maxBytes {
			t.Errorf("%s: %d calls and %d bytes, want 1 and at most %d", c.name, calls, n, c.maxBytes)
		}
		if strings.Contains(args, "AUTHORISED=") {
			t.Errorf("%s: the rule table was shipped: %s", c.name, args)
		}
	}
}

// TestAJobPassReadsItsOrdersAtOnce: a pass of the expiry job claims its
// entries (one round trip per shard and schedule), reads their orders in
// one pipeline and then writes their transitions, several to a round trip
// when they come together and never more than one each; not one more per
// entry to read it.
func TestAJobPassReadsItsOrdersAtOnce(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			srv := redistest.Shared(t)
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
			t.Cleanup(func() { rdb.Close() })
			counter := &tripCounter{}
			rdb.AddHook(counter)
			st := redisstore.New(rdb, redistest.Prefix(t), shards)
			bank := sandbox.New(srv.Client(t), sandbox.Options{Prefix: redistest.Prefix(t)})
			svc := gatewaytest.Service(st, bank, provider.DefaultConfig())
			m := &provider.Merchant{ID: "m1", InstallmentRates: provider.DefaultInstallmentRates()}
			ctx := context.Background()
			const sessions = 6
			// A first pass loads the scripts and fills the connection pool.
			pass := func(day int) int64 {
				t.Helper()
				for i := range sessions {
					order := fmt.Sprintf("o%d-%d", day, i)
					if _, err := svc.StartSession(ctx, provider.StartInput{Request: provider.Request{Merchant: m, GUID: "s-" + order,
						OrderID: order, Fingerprint: "fp-" + order}, Type: provider.Sale, Amount: 10000, Currency: "TRY", Locale: "en",
						ReturnURL: "https://shop.example/r"}); err != nil {
						t.Fatal(err)
					}
				}
				svc.SetClock(func() time.Time { return time.Now().Add(time.Duration(day+1) * 48 * time.Hour) })
				before := counter.n.Load()
				rep, err := svc.RunJobsOnce(ctx)
				if err != nil || rep.Expired != sessions {
					t.Fatalf("the pass: %+v, %v; want %d expired", rep, err, sessions)
				}
				return counter.n.Load() - before
			}
			pass(0)
			got := pass(1)
			if most := int64(2*shards + 1 + sessions); got > most || got < most-sessions+1 {
				t.Errorf("the pass took %d round trips, want %d to %d", got, most-sessions+1, most)
			}
		})
	}
}

// TestAReplayWhoseRecordIsGone: a guid the store saw finished whose record
// has gone (expired) is new again. The small request finds nothing and
// writes nothing; the call is sent again whole and starts the session.
func TestAReplayWhoseRecordIsGone(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	m := &sentBytes{}
	rdb.AddHook(m)
	prefix := redistest.Prefix(t)
	store := redisstore.New(rdb, prefix, 1)
	ctx := context.Background()
	now := time.Now()
	in := startBegin(now)
	if b, err := store.Begin(ctx, in); err != nil || b.Kind != provider.Claimed {
		t.Fatalf("start-session: %v, %v", b.Kind, err)
	}
	m.take()
	// The record expires; so does the order (its retention), as after a day.
	keys, err := rdb.Keys(ctx, prefix+":*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("the order's keys: %v, %v", keys, err)
	}
	rdb.Del(ctx, keys...)

	b, err := store.Begin(ctx, in)
	if err != nil || b.Kind != provider.Claimed {
		t.Fatalf("start-session again: %v, %v; want it started", b.Kind, err)
	}
	calls, _, _ := m.take()
	if calls != 2 {
		t.Errorf("%d EVALSHA, want 2: the small request, then the whole call", calls)
	}
	sess, err := store.Session(ctx, "new-o1")
	if err != nil || sess.StartGUID != "g1" {
		t.Fatalf("the session after the second start: %+v, %v", sess, err)
	}
	if b, err := store.Begin(ctx, in); err != nil || b.Kind != provider.Replayed {
		t.Fatalf("its replay: %v, %v", b.Kind, err)
	}
	if calls, n, _ := m.take(); calls != 1 || n > 150 {
		t.Errorf("its replay: %d EVALSHA of %d bytes, want one small one", calls, n)
	}
}

// TestReplayedAsksOnlyForFinishedGuids: Replayed costs nothing for a guid
// the store has not seen finished, one small request for one it has,
// answers only the same fingerprint, and drops a guid whose record has
// gone so that its Begin goes whole at once.
func TestReplayedAsksOnlyForFinishedGuids(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	m := &sentBytes{}
	rdb.AddHook(m)
	prefix := redistest.Prefix(t)
	store := redisstore.New(rdb, prefix, 1)
	ctx := context.Background()
	now := time.Now()
	in := startBegin(now)
	claim := provider.Claim{Merchant: "m1", OrderID: "o1", GUID: "g1", Fingerprint: "fp"}

	replayed := func(c provider.Claim) (bool, int, int) {
		t.Helper()
		r, ok, err := store.Replayed(ctx, c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if ok && (r.Status != 200 || string(r.Body) != `{"started":true}`) {
			t.Fatalf("replayed %d %s", r.Status, r.Body)
		}
		if n := m.scriptsRun(); n != 0 {
			t.Fatalf("Replayed ran %d scripts, want none: a replay is one read", n)
		}
		calls, n, _ := m.take()
		return ok, calls, n
	}
	if ok, calls, _ := replayed(claim); ok || calls != 0 {
		t.Fatalf("an unknown guid: ok %v after %d calls, want false after none", ok, calls)
	}
	if b, err := store.Begin(ctx, in); err != nil || b.Kind != provider.Claimed || string(b.Reply.Body) != `{"started":true}` {
		t.Fatalf("start-session: %+v, %v", b, err)
	}
	m.take()
	if ok, calls, n := replayed(claim); !ok || calls != 1 || n > 150 {
		t.Fatalf("its replay: ok %v after %d calls of %d bytes, want true after one small one", ok, calls, n)
	}
	other := claim
	other.Fingerprint = "another body"
	if ok, _, _ := replayed(other); ok {
		t.Fatal("another body was answered as a replay")
	}
	keys, err := rdb.Keys(ctx, prefix+":*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("the order's keys: %v, %v", keys, err)
	}
	rdb.Del(ctx, keys...) // expired
	if ok, calls, _ := replayed(claim); ok || calls != 1 {
		t.Fatalf("a gone record: ok %v after %d calls, want false after one", ok, calls)
	}
	if b, err := store.Begin(ctx, in); err != nil || b.Kind != provider.Claimed {
		t.Fatalf("start-session again: %v, %v", b.Kind, err)
	}
	if calls, n, _ := m.take(); calls != 1 || n < 500 {
		t.Errorf("start-session again: %d EVALSHA of %d bytes, want the whole call at once", calls, n)
	}
}
