package provider_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

// contractRules is the state machine as the contract words it, written
// out again here by hand: one row per phase, one column per call. "ok" is
// allowed, "ok:guard" allowed subject to a guard, anything else is the
// refusal's code.
var contractRules = map[provider.Phase]map[provider.Action]string{
	provider.PhaseNone: {
		provider.ActionStart:    "ok",
		provider.ActionPurchase: "order_not_found",
		provider.ActionVoid:     "order_not_found",
		provider.ActionRefund:   "order_not_found",
		provider.ActionHistory:  "order_not_found",
	},
	provider.PhaseWaiting: {
		provider.ActionStart:    "ok", // an unpaid session is replaced
		provider.ActionPurchase: "session_not_paid",
		provider.ActionVoid:     "session_not_paid",
		provider.ActionRefund:   "not_purchased",
		provider.ActionHistory:  "ok",
	},
	provider.PhasePaying: {
		provider.ActionStart:    "payment_in_progress",
		provider.ActionPurchase: "session_not_paid",
		provider.ActionVoid:     "session_not_paid",
		provider.ActionRefund:   "not_purchased",
		provider.ActionHistory:  "ok",
	},
	provider.PhaseThreeDS: {
		provider.ActionStart:    "payment_in_progress",
		provider.ActionPurchase: "session_not_paid",
		provider.ActionVoid:     "session_not_paid",
		provider.ActionRefund:   "not_purchased",
		provider.ActionHistory:  "ok",
	},
	provider.PhasePending: {
		provider.ActionStart:    "payment_in_progress",
		provider.ActionPurchase: "session_not_paid",
		provider.ActionVoid:     "session_not_paid",
		provider.ActionRefund:   "not_purchased",
		provider.ActionHistory:  "ok",
	},
	provider.PhaseAuthorised: {
		provider.ActionStart:    "order_already_paid",
		provider.ActionPurchase: "ok:within_authorised",
		provider.ActionVoid:     "ok",
		provider.ActionRefund:   "not_purchased",
		provider.ActionHistory:  "ok",
	},
	provider.PhasePurchased: {
		provider.ActionStart:    "order_already_paid",
		provider.ActionPurchase: "already_purchased",
		provider.ActionVoid:     "ok:no_refunds",
		provider.ActionRefund:   "ok:within_balance",
		provider.ActionHistory:  "ok",
	},
	provider.PhaseVoided: {
		provider.ActionStart:    "session_voided",
		provider.ActionPurchase: "session_voided",
		provider.ActionVoid:     "session_voided",
		provider.ActionRefund:   "session_voided",
		provider.ActionHistory:  "ok",
	},
	provider.PhaseRejected: {
		provider.ActionStart:    "ok", // a new attempt after a failed one
		provider.ActionPurchase: "session_rejected",
		provider.ActionVoid:     "session_rejected",
		provider.ActionRefund:   "session_rejected",
		provider.ActionHistory:  "ok",
	},
	provider.PhaseExpired: {
		provider.ActionStart:    "ok",
		provider.ActionPurchase: "session_expired",
		provider.ActionVoid:     "session_expired",
		provider.ActionRefund:   "session_expired",
		provider.ActionHistory:  "ok",
	},
}

func verdictText(v provider.Verdict) string {
	if v.Code != "" {
		return string(v.Code)
	}
	if v.Guard != provider.GuardNone {
		return "ok:" + string(v.Guard)
	}
	return "ok"
}

func TestRuleEveryPair(t *testing.T) {
	if len(contractRules) != len(provider.Phases) {
		t.Fatalf("the contract table has %d phases, provider.Phases %d", len(contractRules), len(provider.Phases))
	}
	for _, p := range provider.Phases {
		for _, a := range provider.Actions {
			want, ok := contractRules[p][a]
			if !ok {
				t.Fatalf("the contract table has no entry for (%q, %s)", p, a)
			}
			if got := verdictText(provider.Rule(a, p)); got != want {
				t.Errorf("Rule(%s, %q) = %s, want %s", a, p, got, want)
			}
		}
	}
	if got := provider.Rule("CAPTURE", provider.PhaseAuthorised); got.Code != provider.CodeInternal {
		t.Errorf("an unknown action must be refused as internal, got %+v", got)
	}
}

// TestRuleTableEncoding reads back the encoding the storage script parses
// and checks it says exactly what Rule says.
func TestRuleTableEncoding(t *testing.T) {
	for _, a := range provider.Actions {
		parts := strings.Split(provider.RuleTable(a), ";")
		if len(parts) != len(provider.Phases) {
			t.Fatalf("RuleTable(%s) has %d entries, want %d", a, len(parts), len(provider.Phases))
		}
		got := map[string]string{}
		for _, p := range parts {
			name, rest, ok := strings.Cut(p, "=")
			code, guard, ok2 := strings.Cut(rest, ":")
			if !ok || !ok2 {
				t.Fatalf("RuleTable(%s): malformed entry %q", a, p)
			}
			got[name] = code + ":" + guard
		}
		for _, p := range provider.Phases {
			name := string(p)
			if p == provider.PhaseNone {
				name = "NONE"
			}
			v := provider.Rule(a, p)
			if want := string(v.Code) + ":" + string(v.Guard); got[name] != want {
				t.Errorf("RuleTable(%s)[%s] = %q, want %q", a, name, got[name], want)
			}
		}
	}
}

var now = time.Date(2026, 11, 22, 11, 5, 9, 123e6, time.UTC)

// TestRefusalsAreWorded checks that every code the table can refuse with
// has a client-facing message, and names its field where the contract
// expects one.
func TestRefusalsAreWorded(t *testing.T) {
	fields := map[provider.Code]string{
		provider.CodeOrderNotFound:        "orderId",
		provider.CodeAmountExceedsAuth:    "orderAmount",
		provider.CodeAmountExceedsBalance: "amount",
		provider.CodeCurrencyMismatch:     "currency",
	}
	seen := map[provider.Code]bool{provider.CodeRefundsExist: true, provider.CodeOperationInProgress: true}
	for _, p := range provider.Phases {
		for _, a := range provider.Actions {
			if c := provider.Rule(a, p).Code; c != "" {
				seen[c] = true
			}
		}
	}
	for c := range seen {
		e := provider.Refusal(c)
		if e.Code != c || e.Message == "" || e.Message == "the request is not allowed in the payment's current state" {
			t.Errorf("Refusal(%s) = %+v: want its own message", c, e)
		}
		if e.Field != fields[c] {
			t.Errorf("Refusal(%s).Field = %q, want %q", c, e.Field, fields[c])
		}
	}
}

// TestREADMEStateMachine holds the README's state-machine table to the
// rule table: a cell naming a code (or 404) is that refusal, any other
// cell an allowed call.
func TestREADMEStateMachine(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### The state machine\n")
	if !ok {
		t.Fatal("the README has no state machine section")
	}
	columns := []provider.Action{provider.ActionStart, provider.ActionPurchase, provider.ActionVoid, provider.ActionRefund}
	seen := map[provider.Phase]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if !strings.HasPrefix(line, "|") || len(cells) != 1+len(columns) || strings.HasPrefix(cells[0], "---") || strings.HasPrefix(cells[0], " phase") {
			if seen[provider.PhaseWaiting] && !strings.HasPrefix(line, "|") {
				break // the table has ended
			}
			continue
		}
		var phases []provider.Phase
		name, _, _ := strings.Cut(strings.TrimSpace(cells[0]), " (")
		for _, p := range strings.Split(name, ", ") {
			if p == "none" {
				p = ""
			}
			phases = append(phases, provider.Phase(p))
		}
		for i, a := range columns {
			cell := strings.TrimSpace(cells[i+1])
			want := ""
			switch {
			case cell == "404":
				want = string(provider.CodeOrderNotFound)
			case strings.HasPrefix(cell, "`") && strings.Count(cell, "`") == 2 && strings.HasSuffix(cell, "`"):
				want = strings.Trim(cell, "`")
			}
			for _, p := range phases {
				seen[p] = true
				if got := string(provider.Rule(a, p).Code); got != want {
					t.Errorf("README: %s on %q reads %q; the rule table says %q", a, p, cell, got)
				}
				checkREADMEGuard(t, a, p, cell)
			}
		}
	}
	for _, p := range provider.Phases {
		if !seen[p] {
			t.Errorf("the README's state machine has no row for phase %q", p)
		}
	}
	checkREADME422(t, string(readme))
}

// guardWords are what the README's state machine says of each guard in
// the cell of a call it allows, and guardCodes the refusals begin.lua
// gives when the guard fails (its cases: beginCases).
var (
	guardWords = map[provider.Guard]string{
		provider.GuardWithinAuthorised: "`orderAmount` ≤ authorised",
		provider.GuardWithinBalance:    "at most the balance",
		provider.GuardNoRefunds:        "if no refund",
	}
	guardCodes = map[provider.Guard][]provider.Code{
		provider.GuardWithinAuthorised: {provider.CodeAmountExceedsAuth},
		provider.GuardWithinBalance:    {provider.CodeCurrencyMismatch, provider.CodeAmountExceedsBalance},
		provider.GuardNoRefunds:        {provider.CodeRefundsExist},
	}
)

// checkREADMEGuard: an allowed cell names its guard, and no other.
func checkREADMEGuard(t *testing.T, a provider.Action, p provider.Phase, cell string) {
	t.Helper()
	v := provider.Rule(a, p)
	for g, words := range guardWords {
		if has := strings.Contains(cell, words); has != (v.Code == "" && v.Guard == g) {
			t.Errorf("README: %s on %q reads %q; the rule table's guard is %q", a, p, cell, v.Guard)
		}
	}
}

// checkREADME422 holds the README's 422 row to every code the state
// machine and its guards refuse with.
func checkREADME422(t *testing.T, readme string) {
	t.Helper()
	_, row, ok := strings.Cut(readme, "| 422 | ")
	if !ok {
		t.Fatal("the README's error table has no 422 row")
	}
	row, _, _ = strings.Cut(row, "\n")
	want := map[provider.Code]bool{provider.CodeIdempotencyReused: true}
	for _, p := range provider.Phases {
		for _, a := range provider.Actions {
			if v := provider.Rule(a, p); v.Code != "" && v.Code != provider.CodeOrderNotFound {
				want[v.Code] = true
			}
			for _, c := range guardCodes[provider.Rule(a, p).Guard] {
				want[c] = true
			}
		}
	}
	var listed []string
	for i, part := range strings.Split(row, "`") {
		if i%2 == 1 {
			listed = append(listed, part)
			if !want[provider.Code(part)] {
				t.Errorf("README: the 422 row lists %q, which the state machine never refuses with", part)
			}
			delete(want, provider.Code(part))
		}
	}
	for c := range want {
		t.Errorf("README: the 422 row (%v) does not list %q", listed, c)
	}
}
