package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/idempotency"
	"github.com/akinon-gateway/gateway/provider"
)

// Begin implements provider.Store in one round trip: one script replays,
// or claims, decides and reserves.
func (s *Store) Begin(ctx context.Context, in provider.BeginInput) (provider.Begun, error) {
	if s.shards > 1 {
		// The guid's record lives in its order's shard; another order may
		// be in another shard, where it would not be seen. The guid's
		// entry in the registry, in a slot of its own, is claimed first.
		ok, err := s.registerGUID(ctx, in)
		if err != nil {
			return provider.Begun{}, translate("guid registry", err)
		}
		if !ok {
			return provider.Begun{Kind: provider.Reused}, nil
		}
	}
	// A guid seen finished is asked about first without the work a new
	// one would do: QA's replay ships a small request (finished.go).
	replay := s.finished.has(in.Merchant, in.OrderID, in.GUID)
	args := []any{in.Fingerprint, in.Token, ""}
	if !replay {
		in = prepared(in)
		args = s.beginArgs(in)
	}
	k := s.order(in.Merchant, in.OrderID)
	keys := beginKeys(k, in)
	raw, err := s.durable(ctx, beginScript, keys, args...)
	v, _ := raw.([]any)
	if replay && len(v) == 1 && v[0] == "whole" {
		// The record is gone (expired): nothing was written; the guid is
		// new again, and the call goes whole.
		s.finished.forget(in.Merchant, in.OrderID, in.GUID)
		in = prepared(in)
		keys = beginKeys(k, in)
		raw, err = s.durable(ctx, beginScript, keys, s.beginArgs(in)...)
		v, _ = raw.([]any)
	}
	f, ok := idempotency.Parse(v)
	if err != nil && !s.acknowledgedReplay(f, in.TTL, err) {
		return provider.Begun{}, notDurable("begin", err)
	}
	if ok {
		if f.Kind == idempotency.Replay {
			s.finished.add(in.Merchant, in.OrderID, in.GUID)
		}
		return found(f), nil
	}
	b, err := begun(v, in.New)
	if err == nil && b.Kind == provider.Claimed && in.New != nil {
		b.Reply = in.Reply
		s.finished.add(in.Merchant, in.OrderID, in.GUID) // a new session's reply is stored with it
	}
	return b, err
}

// Replayed implements provider.Store: for a guid this replica saw
// finished, one HMGET of its record, no script. A script costs Redis ten
// or more times the read inside it, and a replay needs the read alone;
// a record that is anything but this request's stored reply is left to
// Begin, whose script decides (idempotency.Stored).
func (s *Store) Replayed(ctx context.Context, c provider.Claim, ttl time.Duration) (provider.Reply, bool, error) {
	if !s.finished.has(c.Merchant, c.OrderID, c.GUID) {
		return provider.Reply{}, false, nil
	}
	key := s.order(c.Merchant, c.OrderID).guid(c.Merchant, c.GUID)
	raw, err := s.durably(ctx, key, func(n node, _ bool) *redis.Cmd {
		return n.Do(ctx, replayRead(key)...)
	})
	v, _ := raw.([]any)
	f, present := idempotency.Stored(v, c.Fingerprint)
	if err != nil && !s.acknowledgedReplay(f, ttl, err) {
		return provider.Reply{}, false, notDurable("replay", err)
	}
	if !present && err == nil {
		s.finished.forget(c.Merchant, c.OrderID, c.GUID) // gone: the call goes whole
	}
	if f.Kind != idempotency.Replay {
		return provider.Reply{}, false, nil
	}
	return provider.Reply{Status: f.Status, Body: f.Body, Expires: f.Expires}, true, nil
}

// replayRead is Replayed's command: HMGET of the record's stored fields.
func replayRead(key string) []any {
	args := make([]any, 0, 2+len(idempotency.StoredFields))
	args = append(args, "HMGET", key)
	for _, f := range idempotency.StoredFields {
		args = append(args, f)
	}
	return args
}

// prepared is in with its new session, step and reply built (Prepare).
func prepared(in provider.BeginInput) provider.BeginInput {
	if in.Prepare != nil {
		in.Prepare(&in)
		in.Prepare = nil
	}
	return in
}

// beginKeys are begin.lua's keys: the guid's record first. The new
// session's id index is in the order's slot; without a new session a key
// of that slot stands in for it.
func beginKeys(k orderKeys, in provider.BeginInput) []string {
	sidx := k.session
	if in.New != nil {
		sidx = k.sessionIndex(in.New.ID)
	}
	return []string{k.guid(in.Merchant, in.GUID), k.session, k.history, sidx, schedule(k.tag, provider.ScheduleExpiry), k.doubt(), k.settled}
}

// beginArgs are begin.lua's arguments: the fingerprint, the token, the
// named arguments and, for a start-session, its reply's body and step.
func (s *Store) beginArgs(in provider.BeginInput) []any {
	args := beginArgs{
		Lease:  in.Lease.Milliseconds(),
		Action: string(in.Ask.Action), GUID: in.GUID, Amount: int64(in.Ask.Amount), Currency: in.Ask.Currency,
		Now: in.Ask.Now.UnixMilli(), Deadline: in.Deadline.UnixMilli(),
		Doubt:     doubtMember(provider.DoubtOperation, in.Merchant, in.OrderID, in.GUID),
		Retention: s.retentionMS(), Order: in.OrderID,
	}
	if in.New != nil {
		due := provider.Due{Merchant: in.Merchant, OrderID: in.OrderID, SessionID: in.New.ID}
		args.Start = &startArgs{Owner: in.Merchant + "\n" + in.OrderID, Expiry: member(due), ExpiresAt: in.New.ExpiresAt.UnixMilli(),
			Status: in.Reply.Status, Expires: in.Reply.Expires.UnixMilli(),
			TTL: in.TTL.Milliseconds(), Fields: sessionFields(in.New)}
		return []any{in.Fingerprint, in.Token, named(args), in.Reply.Body, in.StartStep}
	}
	return []any{in.Fingerprint, in.Token, named(args)}
}

// found is Begin's answer for a guid already known.
func found(f idempotency.Found) provider.Begun {
	switch f.Kind {
	case idempotency.Reused:
		return provider.Begun{Kind: provider.Reused}
	case idempotency.InFlight:
		return provider.Begun{Kind: provider.InFlight}
	}
	return provider.Begun{Kind: provider.Replayed, Reply: provider.Reply{Status: f.Status, Body: f.Body, Expires: f.Expires}}
}

// begun reads begin.lua's verdict on a guid it claimed (or refused).
func begun(v []any, started *provider.Session) (provider.Begun, error) {
	var b provider.Begun
	var sessAt int
	switch v[0] {
	case "started":
		return provider.Begun{Kind: provider.Claimed, Session: started}, nil
	case "busy":
		b.Kind, sessAt = provider.Busy, 1
	case "refused":
		code, _ := v[1].(string)
		b.Kind, b.Refusal, sessAt = provider.Refused, provider.Code(code), 2
	case "claimed":
		b.Kind, sessAt = provider.Claimed, 1
	default:
		return provider.Begun{}, fmt.Errorf("redisstore: begin: unexpected reply %q", v[0])
	}
	var err error
	if b.Session, err = decodeSession(v[sessAt]); err != nil {
		return provider.Begun{}, err
	}
	if b.Kind == provider.Claimed && len(v) > 2 {
		if b.Steps, err = decodeSteps(v[2]); err != nil {
			return provider.Begun{}, err
		}
	}
	return b, nil
}

// acknowledgedReplay reports whether a Begin whose write was not
// acknowledged only read a stored reply old enough that its own request
// has finished waiting for the replicas: that answer was acknowledged
// when it was given (or refused then), so replaying it needs no new
// acknowledgement, and a shard whose master lost its last replica still
// replays every answer it gave.
func (s *Store) acknowledgedReplay(f idempotency.Found, ttl time.Duration, err error) bool {
	if !errors.Is(err, ErrNotDurable) || f.Kind != idempotency.Replay {
		return false
	}
	stored := f.Expires.Add(-ttl)
	return time.Since(stored) > s.durability.Timeout+s.durability.Follow
}

// Abandon implements provider.Store.
func (s *Store) Abandon(ctx context.Context, c provider.Claim) error {
	k := s.order(c.Merchant, c.OrderID)
	err := abandonScript.Run(ctx, s.rdb, []string{k.guid(c.Merchant, c.GUID), k.session, k.doubt()},
		c.GUID, c.Token, doubtMember(provider.DoubtOperation, c.Merchant, c.OrderID, c.GUID)).Err()
	return translate("abandon", err)
}

// Finish implements provider.Store in one round trip.
func (s *Store) Finish(ctx context.Context, in provider.FinishInput) (provider.Reply, error) {
	k := s.order(in.Merchant, in.OrderID)
	args := finishArgs{GUID: in.GUID, Fingerprint: in.Fingerprint, Status: in.Reply.Status,
		Expires: in.Reply.Expires.UnixMilli(), TTL: in.TTL.Milliseconds(),
		Doubt:     doubtMember(provider.DoubtOperation, in.Merchant, in.OrderID, in.GUID),
		Retention: s.retentionMS(), Token: in.Token, Order: in.OrderID}
	if st := in.Settle; st != nil {
		args.Settle = &settleArgs{Phase: string(st.Phase), Captured: int64(st.Captured), Refunded: int64(st.Refunded), Release: int64(st.Release)}
	}
	raw, err := s.durable(ctx, finishScript, []string{k.guid(in.Merchant, in.GUID), k.session, k.history, k.doubt(), k.settled},
		named(args), in.Reply.Body, in.Step)
	if err != nil {
		return provider.Reply{}, notDurable("finish", err)
	}
	v, _ := raw.([]any)
	if n, _ := v[0].(int64); n != 2 {
		s.finished.add(in.Merchant, in.OrderID, in.GUID) // its reply, or the one that stands, is stored
	}
	if n, _ := v[0].(int64); n == 1 || n == 2 || len(v) < 4 {
		// Stored, or (2) the guid is another request's now: this
		// request's answer stands for it alone.
		return in.Reply, nil
	}
	// Settled first by someone else: that reply stands.
	f, _ := idempotency.Parse(append([]any{"replay"}, v[1:]...))
	return provider.Reply{Status: f.Status, Body: f.Body, Expires: f.Expires}, nil
}

// Session implements provider.Store: the id index says which order the
// session belongs to, then the order's session is read.
func (s *Store) Session(ctx context.Context, id string) (*provider.Session, error) {
	pipe := s.rdb.Pipeline()
	for n := 0; n < s.shards; n++ {
		pipe.Get(ctx, s.tag(n)+":x:"+id)
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, translate("session index", err)
	}
	owner := ""
	for _, c := range cmds {
		if v, err := c.(*redis.StringCmd).Result(); err == nil && v != "" {
			owner = v
			break
		}
	}
	merchant, order, ok := cutOwner(owner)
	if !ok {
		return nil, fmt.Errorf("redisstore: session %s: %w", id, provider.ErrNotFound)
	}
	return s.Order(ctx, merchant, order)
}

// ClaimPayment implements provider.Store. The claim is what keeps a second
// card off the payment's one reference, so it waits for the replicas
// REDIS_MIN_REPLICAS asks for (in the same round trip): a claim lost in a
// failover would let the bank authorise a payment no record holds.
func (s *Store) ClaimPayment(ctx context.Context, in provider.PaymentClaim) (*provider.Session, error) {
	k := s.order(in.Merchant, in.OrderID)
	args := claimPaymentArgs{SessionID: in.SessionID, Stage: in.Stage, Token: in.Token, Lease: in.Lease.Milliseconds(),
		Now: in.Now.UnixMilli(), Deadline: in.Deadline.UnixMilli(),
		Doubt:  doubtMember(provider.DoubtPayment, in.Merchant, in.OrderID, in.SessionID),
		Amount: int64(in.Amount), Installment: in.Installment, BIN: in.CardBIN, Last4: in.CardLast4, Retention: s.retentionMS()}
	raw, err := s.durable(ctx, claimPaymentScript, []string{k.session, k.doubt()}, named(args))
	if err != nil {
		return nil, notDurable("claim payment", err)
	}
	v, _ := raw.([]any)
	if len(v) < 2 {
		return nil, fmt.Errorf("redisstore: claim payment: unexpected reply %v", raw)
	}
	if v[0] == "err" {
		code, _ := v[1].(string)
		return nil, provider.Errorf(provider.Code(code), "", "the payment cannot be taken now")
	}
	return decodeSession(v[1])
}

// ReleasePayment implements provider.Store.
func (s *Store) ReleasePayment(ctx context.Context, in provider.PaymentClaim) error {
	k := s.order(in.Merchant, in.OrderID)
	err := releasePaymentScript.Run(ctx, s.rdb, []string{k.session, k.doubt()},
		in.SessionID, in.Token, doubtMember(provider.DoubtPayment, in.Merchant, in.OrderID, in.SessionID)).Err()
	return translate("release payment", err)
}

// SettlePayment implements provider.Store. A holder that lost its claim
// gets the session as it now is, unchanged.
func (s *Store) SettlePayment(ctx context.Context, in provider.PaymentSettlement) (*provider.Session, error) {
	k := s.order(in.Merchant, in.OrderID)
	args := settlePaymentArgs{Token: in.Token, Step: in.StartStep, Event: event(in.Event, in.Now), Now: in.Now.UnixMilli(),
		ResolveAt: msOrZero(in.Paid.ResolveAt), Doubt: doubtMember(provider.DoubtPayment, in.Merchant, in.OrderID, in.SessionID),
		Retention: s.retentionMS(), Fields: paymentFields(in.Paid)}
	if in.Paid.Phase == provider.PhasePending {
		args.Pending = member(provider.Due{Merchant: in.Merchant, OrderID: in.OrderID, SessionID: in.SessionID})
	}
	keys := []string{k.session, k.history, schedule(k.tag, provider.SchedulePending), outboxDue(k.tag), eventKey(k.tag, args.Event.ID), k.doubt(), k.events}
	raw, err := s.durable(ctx, settlePaymentScript, keys, eventful(named(args), args.Step, args.Event, args.Fields)...)
	if err != nil {
		return nil, notDurable("settle payment", err)
	}
	v, _ := raw.([]any)
	return decodeSession(v[1])
}

// RefuseTry implements provider.Store.
func (s *Store) RefuseTry(ctx context.Context, in provider.Try) (*provider.Session, error) {
	k := s.order(in.Merchant, in.OrderID)
	args := refuseTryArgs{SessionID: in.SessionID, MaxTries: in.MaxTries, Now: in.Now.UnixMilli(), Step: in.RejectedStep,
		Detail: in.Detail, Event: event(in.Event, in.Now), Retention: s.retentionMS()}
	keys := []string{k.session, k.history, outboxDue(k.tag), eventKey(k.tag, args.Event.ID), k.events}
	v, err := refuseTryScript.Run(ctx, s.rdb, keys, eventful(named(args), args.Step, args.Event, nil)...).Result()
	if err != nil {
		return nil, translate("refuse try", err)
	}
	return decodeSession(v)
}

// event spells an optional event as script arguments, its first
// attempt due after its delay.
func event(e *provider.Outgoing, now time.Time) eventArgs {
	if e == nil {
		return eventArgs{Due: now.UnixMilli()}
	}
	return eventArgs{ID: e.ID, Body: string(e.Body), Due: now.Add(e.Delay).UnixMilli()}
}

func cutOwner(owner string) (merchant, order string, ok bool) {
	for i := 0; i < len(owner); i++ {
		if owner[i] == '\n' {
			return owner[:i], owner[i+1:], i > 0
		}
	}
	return "", "", false
}
