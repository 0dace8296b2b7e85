package sandbox_test

import (
	"context"
	"testing"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/processortest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestConformance runs the processor kit on the sandbox. Its 3-D Secure is
// still a code typed on the gateway's page (Authenticate), so the scenarios
// that need a bank's redirect and return are skipped until it has an ACS of
// its own.
func TestConformance(t *testing.T) {
	srv := redistest.Shared(t)
	rdb := srv.Client(t)
	prefix := redistest.Prefix(t) + ":sbx"
	p := sandbox.New(rdb, sandbox.Options{Prefix: prefix})
	const noACS = "the sandbox has no ACS of its own yet: its 3-D Secure is a code on the gateway's page, with no bank return to "
	processortest.Run(t, processortest.Kit{
		Processor: p,
		Books:     p,
		Cards: processortest.Cards{Approve: sandbox.CardApproved, Decline: sandbox.CardDeclined,
			Challenge: sandbox.CardThreeDS},
		ChallengeCode: sandbox.ThreeDSCode,
		Currency:      "TRY",
		Stored: func(t *testing.T) []string {
			t.Helper()
			ctx := context.Background()
			var all []string
			for _, k := range rdb.Keys(ctx, prefix+"*").Val() {
				switch rdb.Type(ctx, k).Val() {
				case "list":
					all = append(all, rdb.LRange(ctx, k, 0, -1).Val()...)
				case "hash":
					for f, v := range rdb.HGetAll(ctx, k).Val() {
						all = append(all, f, v)
					}
				default:
					all = append(all, rdb.Get(ctx, k).Val())
				}
			}
			return all
		},
		Skip: map[string]string{
			processortest.Frictionless:     "the sandbox has no frictionless card yet (any other number is approved without 3-D Secure)",
			processortest.NotEnrolled:      "the sandbox has no not-enrolled card yet",
			processortest.TamperedReturn:   noACS + "tamper with",
			processortest.ReplayedReturn:   noACS + "replay",
			processortest.MismatchedReturn: noACS + "mismatch",
			processortest.TimeoutInDoubt:   "the sandbox's latency is set at construction (Options.Latency); the kit's fault switches are not wired to it",
		},
	})
}
