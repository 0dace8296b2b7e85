package nestpay_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybank"
	"github.com/akinon-gateway/gateway/provider/processortest"
)

// brokenEnv, set in a child test process, runs the kit on an adapter that
// trusts whatever the browser brings back.
const brokenEnv = "NESTPAY_KIT_BROKEN_ADAPTER"

// trusting approves any return that names another order without checking
// it: the mistake the kit must catch.
type trusting struct{ *nestpay.Processor }

func (p trusting) Complete(ctx context.Context, req provider.CompleteRequest) (provider.Result, error) {
	if req.Fields["oid"] != req.Reference {
		return provider.Result{Outcome: provider.Approved, Code: "00", ProcessorID: req.Reference}, nil
	}
	return p.Processor.Complete(ctx, req)
}

func TestKitOnABrokenAdapter(t *testing.T) {
	if os.Getenv(brokenEnv) != "1" {
		t.Skip("run by TestKitCatchesABrokenAdapter in a child process")
	}
	_, p, books, stored := startBank(t)
	processortest.Run(t, processortest.Kit{Processor: trusting{p}, Books: books, Stored: stored,
		Cards: processortest.Cards{Approve: nestpaybank.CardApproved, Decline: nestpaybank.CardDeclined,
			Frictionless: nestpaybank.CardFrictionless, Challenge: nestpaybank.CardChallenge, NotEnrolled: nestpaybank.CardNotEnrolled},
		ChallengeCode: nestpaybank.ChallengeCode})
}

// TestKitCatchesABrokenAdapter shows the kit can fail: an adapter that
// approves a return naming another order fails its return scenarios.
func TestKitCatchesABrokenAdapter(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestKitOnABrokenAdapter$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), brokenEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the kit passed an adapter that approves foreign returns:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestKitOnABrokenAdapter/tampered_return_never_approved",
		"--- FAIL: TestKitOnABrokenAdapter/mismatched_return_never_approved",
		"--- PASS: TestKitOnABrokenAdapter/approve"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}
