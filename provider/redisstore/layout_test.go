package redisstore

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/idempotency"
)

// TestRecordLayoutOnce: the guid record's field names are written only in
// idempotency.Record; no script spells one itself (they read REC).
func TestRecordLayoutOnce(t *testing.T) {
	v := reflect.ValueOf(idempotency.Record)
	letters := make([]string, v.NumField())
	for i := range letters {
		letters[i] = regexp.QuoteMeta(v.Field(i).String())
	}
	raw := regexp.MustCompile(`['"](` + strings.Join(letters, "|") + `)['"]`)
	scripts := map[string]string{"begin.lua": beginLua, "finish.lua": finishLua, "abandon.lua": abandonLua,
		"session.lua": sessionLua, "claim_payment.lua": claimPaymentLua, "release_payment.lua": releasePaymentLua,
		"settle_payment.lua": settlePaymentLua, "refuse_try.lua": refuseTryLua, "outbox.lua": outboxLua,
		"transition.lua": transitionLua, "claim_due.lua": claimDueLua, "record_attempt.lua": recordAttemptLua,
		"replay_event.lua": replayEventLua, "idempotency.Lua (functions)": strings.SplitN(idempotency.Lua, "\n", 2)[1]}
	for name, src := range scripts {
		if m := raw.FindString(src); m != "" {
			t.Errorf("%s spells the guid record's field %s itself; read it through REC", name, m)
		}
	}
}
