package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// raw is a store plus direct access to its keys, for tests that build a
// session in any phase by writing its hash the way codec.go lays it out.
type raw struct {
	rdb    *redis.Client
	prefix string
	store  *redisstore.Store
}

func mustRaw(tb testing.TB) *raw {
	tb.Helper()
	rdb := redistest.Shared(tb).Client(tb)
	prefix := redistest.Prefix(tb)
	return &raw{rdb: rdb, prefix: prefix, store: redisstore.New(rdb, prefix, 1)}
}

// With one shard every key carries the tag {0}.
func (r *raw) sessionKey(merchant, order string) string {
	return r.prefix + ":{0}:o:" + merchant + ":" + order
}
func (r *raw) historyKey(merchant, order string) string {
	return r.prefix + ":{0}:h:" + merchant + ":" + order
}
func (r *raw) guidKey(merchant, guid string) string {
	return r.prefix + ":{0}:i:" + merchant + ":" + guid
}
func (r *raw) indexKey(id string) string { return r.prefix + ":{0}:x:" + id }
func (r *raw) settledKey(merchant, order string) string {
	return r.prefix + ":{0}:g:" + merchant + ":" + order
}
func (r *raw) doubtKey() string { return r.prefix + ":{0}:doubt" }

// spec is a session as a test writes it.
type spec struct {
	phase        provider.Phase
	typ          provider.PaymentType
	expiresAt    time.Time
	authorised   int64
	captured     int64
	refunded     int64
	op           string
	reservations map[string]int64
	payToken     string
	payStage     string // "card" unless set, when payToken is
	tries        int
	noExpiry     bool     // the hash has no expiresAt
	settled      []string // guids already settled on the order
}

func (r *raw) mustWrite(tb testing.TB, merchant, order string, s spec) string {
	tb.Helper()
	ctx := context.Background()
	id := "sess-" + order
	reserved := int64(0)
	fields := []any{
		"id", id, "txn", "txn-" + order, "merchant", merchant, "order", order, "startGuid", "start-" + order,
		"type", string(s.typ), "currency", "TRY", "locale", "tr", "returnUrl", "https://shop.example/return",
		"processor", "sandbox", "amount", 10000, "createdAt", s.expiresAt.Add(-30 * time.Minute).UnixMilli(),
		"expiresAt", s.expiresAt.UnixMilli(), "phase", string(s.phase), "tries", s.tries,
		"authorised", s.authorised, "captured", s.captured, "refunded", s.refunded, "startIdx", 0,
	}
	if s.op != "" {
		fields = append(fields, "op", s.op)
	}
	if s.payToken != "" {
		stage := s.payStage
		if stage == "" {
			stage = provider.StageCard
		}
		fields = append(fields, "payToken", s.payToken, "payStage", stage, "payUntil", s.expiresAt.UnixMilli())
	}
	for guid, m := range s.reservations {
		fields = append(fields, "r:"+guid, m)
		reserved += m
	}
	fields = append(fields, "reserved", reserved)
	step := provider.MarshalStep(provider.Step{GUID: "start-" + order, Type: provider.ActionStart, SessionID: id})
	pipe := r.rdb.TxPipeline()
	pipe.HSet(ctx, r.sessionKey(merchant, order), fields...)
	pipe.RPush(ctx, r.historyKey(merchant, order), step)
	pipe.Set(ctx, r.indexKey(id), merchant+"\n"+order, 0)
	if s.noExpiry {
		pipe.HDel(ctx, r.sessionKey(merchant, order), "expiresAt")
	}
	for _, g := range s.settled {
		pipe.SAdd(ctx, r.settledKey(merchant, order), g)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		tb.Fatalf("write session: %v", err)
	}
	return id
}

func (r *raw) hash(tb testing.TB, merchant, order string) map[string]string {
	tb.Helper()
	h, err := r.rdb.HGetAll(context.Background(), r.sessionKey(merchant, order)).Result()
	if err != nil {
		tb.Fatal(err)
	}
	return h
}
