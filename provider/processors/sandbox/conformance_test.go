package sandbox_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/processortest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestConformance runs the processor kit on the sandbox, its 3-D Secure
// through its ACS on an origin of its own.
func TestConformance(t *testing.T) {
	srv := redistest.Shared(t)
	rdb := srv.Client(t)
	prefix := redistest.Prefix(t) + ":sbx"
	acs := httptest.NewUnstartedServer(nil)
	p := sandbox.New(rdb, sandbox.Options{Prefix: prefix, ACSURL: "http://" + acs.Listener.Addr().String()})
	acs.Config.Handler = p.ACS()
	acs.Start()
	t.Cleanup(acs.Close)
	processortest.Run(t, processortest.Kit{
		Processor: p,
		Books:     p,
		Cards: processortest.Cards{Approve: sandbox.CardApproved, Decline: sandbox.CardDeclined,
			Challenge: sandbox.CardThreeDS, Frictionless: sandbox.CardFrictionless, NotEnrolled: sandbox.CardNotEnrolled},
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
			processortest.TimeoutInDoubt: "the sandbox's latency is set at construction (Options.Latency); the kit's fault switches are not wired to it",
		},
	})
}
