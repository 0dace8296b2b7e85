package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
)

// readHistory reads an order's history without claiming its guid: one
// MULTI of plain reads (the guid's record, the session, its steps), no
// script and no write. It answers (ok) only when the guid is free and
// the order has a session, which history is allowed from in every phase;
// Finish then stores the reply only while the guid is still free
// (finish.lua). Anything else, a record under the guid or no session,
// goes to begin.lua, which knows every case.
func (s *Store) readHistory(ctx context.Context, in provider.BeginInput) (provider.Begun, bool, error) {
	k := s.order(in.Merchant, in.OrderID)
	var rec *redis.Cmd
	var sess *redis.MapStringStringCmd
	var steps *redis.StringSliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		rec = p.Do(ctx, replayRead(k.guid(in.Merchant, in.GUID))...)
		sess = p.HGetAll(ctx, k.session)
		steps = p.LRange(ctx, k.history, 0, -1)
		return nil
	})
	if err != nil {
		return provider.Begun{}, false, translate("history", err)
	}
	if fields, _ := rec.Val().([]any); len(fields) == 0 || fields[0] != nil {
		return provider.Begun{}, false, nil
	}
	session, err := decodeSessionHash(sess.Val())
	if err != nil || session == nil {
		return provider.Begun{}, false, err
	}
	// As begin.lua hands it back: past its expiry and unpaid, expired.
	session.Phase = session.EffectivePhase(in.Ask.Now)
	if v := provider.Rule(provider.ActionHistory, session.Phase); v.Code != "" {
		return provider.Begun{}, false, nil
	}
	list, err := decodeStepList(steps.Val())
	if err != nil {
		return provider.Begun{}, false, err
	}
	return provider.Begun{Kind: provider.Claimed, Session: session, Steps: list, Unclaimed: true}, true, nil
}
