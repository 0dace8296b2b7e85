package provider_test

import (
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

var actions = []provider.Action{provider.ActionStart, provider.ActionPurchase, provider.ActionVoid,
	provider.ActionRefund, provider.ActionHistory}

func verdictText(v provider.Verdict) string {
	if !v.Allowed() {
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
		for _, a := range actions {
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
	for _, a := range actions {
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

// session builds a session in a phase with round amounts: 100.00 paid,
// and for PURCHASED all of it captured.
func session(p provider.Phase, opts ...func(*provider.Session)) *provider.Session {
	s := &provider.Session{ID: "s1", TransactionID: "t1", Type: provider.Sale, Currency: "TRY",
		Amount: 10000, Phase: p, CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	switch p {
	case provider.PhaseAuthorised, provider.PhaseVoided:
		s.Authorised = 10000
	case provider.PhasePurchased:
		s.Authorised, s.Captured = 10000, 10000
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func withAuth(s *provider.Session)               { s.Type = provider.Auth }
func withOp(guid string) func(*provider.Session) { return func(s *provider.Session) { s.Op = guid } }
func withRefunded(m provider.Money) func(*provider.Session) {
	return func(s *provider.Session) { s.Refunded = m }
}
func withReservation(guid string, m provider.Money) func(*provider.Session) {
	return func(s *provider.Session) {
		if s.Reservations == nil {
			s.Reservations = map[string]provider.Money{}
		}
		s.Reservations[guid] = m
		s.Reserved += m
	}
}
func expired(s *provider.Session) { s.ExpiresAt = now.Add(-time.Millisecond) }

func TestDecide(t *testing.T) {
	ask := func(a provider.Action, amount provider.Money, currency string) provider.Ask {
		return provider.Ask{Action: a, GUID: "g1", Amount: amount, Currency: currency, Now: now}
	}
	tests := []struct {
		name string
		sess *provider.Session
		ask  provider.Ask
		want provider.Code
	}{
		{"start without a session", nil, ask(provider.ActionStart, 0, ""), ""},
		{"purchase without a session", nil, ask(provider.ActionPurchase, 0, ""), provider.CodeOrderNotFound},
		{"history without a session", nil, ask(provider.ActionHistory, 0, ""), provider.CodeOrderNotFound},

		// Expiry is read at the moment of the ask, before any job records it.
		{"purchase of an unpaid session past its expiry", session(provider.PhaseWaiting, expired), ask(provider.ActionPurchase, 0, ""), provider.CodeSessionExpired},
		{"start over an unpaid session past its expiry", session(provider.PhaseWaiting, expired), ask(provider.ActionStart, 0, ""), ""},
		{"expiry at the exact millisecond", session(provider.PhaseWaiting, func(s *provider.Session) { s.ExpiresAt = now }), ask(provider.ActionRefund, 100, "TRY"), provider.CodeSessionExpired},
		{"an authorised session does not expire", session(provider.PhaseAuthorised, expired), ask(provider.ActionPurchase, 0, ""), ""},
		{"a 3-D Secure challenge nobody answered expires", session(provider.PhaseThreeDS, expired), ask(provider.ActionPurchase, 0, ""), provider.CodeSessionExpired},
		{"start over an unanswered challenge past its expiry", session(provider.PhaseThreeDS, expired), ask(provider.ActionStart, 0, ""), ""},
		{"a payment at the processor does not expire", session(provider.PhasePaying, expired), ask(provider.ActionStart, 0, ""), provider.CodePaymentInProgress},
		{"a pending payment does not expire", session(provider.PhasePending, expired), ask(provider.ActionStart, 0, ""), provider.CodePaymentInProgress},

		// Another operation under way blocks every mutating call, whatever the phase says.
		{"purchase while another purchase runs", session(provider.PhaseAuthorised, withOp("other")), ask(provider.ActionPurchase, 0, ""), provider.CodeOperationInProgress},
		{"void while a purchase runs", session(provider.PhaseAuthorised, withOp("other")), ask(provider.ActionVoid, 0, ""), provider.CodeOperationInProgress},
		{"refund while a void runs", session(provider.PhasePurchased, withOp("other")), ask(provider.ActionRefund, 100, "TRY"), provider.CodeOperationInProgress},
		{"a lock beats the phase's refusal", session(provider.PhaseVoided, withOp("other")), ask(provider.ActionRefund, 100, "TRY"), provider.CodeOperationInProgress},
		{"history reads through a lock", session(provider.PhasePurchased, withOp("other")), ask(provider.ActionHistory, 0, ""), ""},
		{"start is not blocked by a lock", session(provider.PhaseRejected, withOp("other")), ask(provider.ActionStart, 0, ""), ""},

		// A hold is a hold, whoever asks: a retry of the holder's own guid
		// never gets here (its claim answers request_in_progress until it
		// is settled), so the rule need not know who holds it.
		{"the lock, asked by its own guid", session(provider.PhaseAuthorised, withOp("g1")), ask(provider.ActionPurchase, 0, ""), provider.CodeOperationInProgress},
		{"a reservation is counted, whoever asks", session(provider.PhasePurchased, withReservation("g1", 10000)), ask(provider.ActionRefund, 1, "TRY"), provider.CodeAmountExceedsBalance},
		{"someone else's reservation counts", session(provider.PhasePurchased, withReservation("other", 9000)), ask(provider.ActionRefund, 1001, "TRY"), provider.CodeAmountExceedsBalance},
		{"up to the balance left beside a reservation", session(provider.PhasePurchased, withReservation("other", 9000)), ask(provider.ActionRefund, 1000, "TRY"), ""},

		// Guards.
		{"refund of the whole balance", session(provider.PhasePurchased), ask(provider.ActionRefund, 10000, "TRY"), ""},
		{"refund one cent above the balance", session(provider.PhasePurchased), ask(provider.ActionRefund, 10001, "TRY"), provider.CodeAmountExceedsBalance},
		{"refund above what is left after refunds", session(provider.PhasePurchased, withRefunded(8000)), ask(provider.ActionRefund, 2001, "TRY"), provider.CodeAmountExceedsBalance},
		{"refund of what is left after refunds", session(provider.PhasePurchased, withRefunded(8000)), ask(provider.ActionRefund, 2000, "TRY"), ""},
		{"refund in another currency", session(provider.PhasePurchased), ask(provider.ActionRefund, 100, "EUR"), provider.CodeCurrencyMismatch},
		{"currency is checked before the amount", session(provider.PhasePurchased), ask(provider.ActionRefund, 99999, "EUR"), provider.CodeCurrencyMismatch},
		{"AUTH capture of part", session(provider.PhaseAuthorised, withAuth), ask(provider.ActionPurchase, 5000, ""), ""},
		{"AUTH capture of all", session(provider.PhaseAuthorised, withAuth), ask(provider.ActionPurchase, 10000, ""), ""},
		{"AUTH capture above the authorisation", session(provider.PhaseAuthorised, withAuth), ask(provider.ActionPurchase, 10001, ""), provider.CodeAmountExceedsAuth},
		{"AUTH capture with no amount takes all", session(provider.PhaseAuthorised, withAuth), ask(provider.ActionPurchase, 0, ""), ""},
		{"SALE ignores orderAmount", session(provider.PhaseAuthorised), ask(provider.ActionPurchase, 99999, ""), ""},
		{"void of a purchase without refunds", session(provider.PhasePurchased), ask(provider.ActionVoid, 0, ""), ""},
		{"void of a purchase with refunds", session(provider.PhasePurchased, withRefunded(1)), ask(provider.ActionVoid, 0, ""), provider.CodeRefundsExist},
		{"void while a refund is under way", session(provider.PhasePurchased, withReservation("other", 100)), ask(provider.ActionVoid, 0, ""), provider.CodeOperationInProgress},
		{"void of an authorisation", session(provider.PhaseAuthorised), ask(provider.ActionVoid, 0, ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := provider.Decide(tt.sess, tt.ask); got != tt.want {
				t.Fatalf("Decide = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDecideFollowsRule checks Decide against the table for every pair on
// a plain session (no locks, amounts within every guard).
func TestDecideFollowsRule(t *testing.T) {
	for _, p := range provider.Phases {
		for _, a := range actions {
			var s *provider.Session
			if p != provider.PhaseNone {
				s = session(p)
				if p == provider.PhaseExpired {
					s.Phase = provider.PhaseWaiting
					expired(s)
				}
			}
			got := provider.Decide(s, provider.Ask{Action: a, GUID: "g", Amount: 100, Currency: "TRY", Now: now})
			want := contractRules[p][a]
			if strings.HasPrefix(want, "ok") {
				want = ""
			}
			if string(got) != want {
				t.Errorf("Decide(%s on %q) = %q, want %q", a, p, got, want)
			}
		}
	}
}

func TestCheckGuard(t *testing.T) {
	tests := []struct {
		name     string
		guard    provider.Guard
		sess     *provider.Session
		amount   provider.Money
		currency string
		want     provider.Code
	}{
		{"none", provider.GuardNone, session(provider.PhaseAuthorised), 1 << 40, "XXX", ""},
		{"within authorised, AUTH, equal", provider.GuardWithinAuthorised, session(provider.PhaseAuthorised, withAuth), 10000, "", ""},
		{"within authorised, AUTH, above", provider.GuardWithinAuthorised, session(provider.PhaseAuthorised, withAuth), 10001, "", provider.CodeAmountExceedsAuth},
		{"within authorised, SALE, above", provider.GuardWithinAuthorised, session(provider.PhaseAuthorised), 10001, "", ""},
		{"within balance, equal", provider.GuardWithinBalance, session(provider.PhasePurchased), 10000, "TRY", ""},
		{"within balance, above", provider.GuardWithinBalance, session(provider.PhasePurchased), 10001, "TRY", provider.CodeAmountExceedsBalance},
		{"within balance, reserved", provider.GuardWithinBalance, session(provider.PhasePurchased, withReservation("x", 5000)), 5001, "TRY", provider.CodeAmountExceedsBalance},
		{"within balance, currency", provider.GuardWithinBalance, session(provider.PhasePurchased), 1, "try", provider.CodeCurrencyMismatch},
		{"no refunds, clean", provider.GuardNoRefunds, session(provider.PhasePurchased), 0, "", ""},
		{"no refunds, refunded", provider.GuardNoRefunds, session(provider.PhasePurchased, withRefunded(1)), 0, "", provider.CodeRefundsExist},
		{"no refunds, reserved", provider.GuardNoRefunds, session(provider.PhasePurchased, withReservation("x", 1)), 0, "", provider.CodeOperationInProgress},
	}
	for _, tt := range tests {
		if got := provider.CheckGuard(tt.guard, tt.sess, tt.amount, tt.currency); got != tt.want {
			t.Errorf("%s: CheckGuard = %q, want %q", tt.name, got, tt.want)
		}
	}
}

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
		for _, a := range actions {
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
