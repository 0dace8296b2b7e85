package extension_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
)

// step is one move of a flow and what it must answer.
type step struct {
	path, body string
	status     int
	code       string      // the error's code, or the operation's status on 200
	balance    json.Number // checked by a history after the step, when set
}

func runSteps(t *testing.T, g *gateway, order string, steps []step) {
	t.Helper()
	for i, s := range steps {
		r := g.call(t, s.path, s.body)
		if r.Status != s.status {
			t.Fatalf("step %d %s: %s, want %d", i, s.path, r, s.status)
		}
		switch {
		case r.Status == http.StatusOK && s.path != "/history" && s.path != "/start-session":
			var op operation
			mustJSON(t, r, &op)
			if op.Status != s.code {
				t.Fatalf("step %d %s: %s, want %s", i, s.path, r.Body, s.code)
			}
		case r.Status != http.StatusOK:
			if e := checkErrorBody(t, r); e.Errors[0].Code != s.code {
				t.Fatalf("step %d %s: %s, want %s", i, s.path, r.Body, s.code)
			}
		}
		if s.balance != "" {
			if h, _ := g.mustHistory(t, order); h.Balance != s.balance {
				t.Fatalf("step %d: balance %s, want %s", i, h.Balance, s.balance)
			}
		}
	}
}

func TestFlows(t *testing.T) {
	tests := []struct {
		name, state string
		steps       func(o string) []step
		lastAction  string
	}{
		{"AUTH captured in part", "paid-auth", func(o string) []step {
			return []step{
				{"/purchase", body(opBody(o, o+"-p1"), set("orderAmount", number("60.00"))), 200, "RESOLVED", "60.00"},
				{"/refund", body(refundBody(o, o+"-r1", "60.01")), 422, "amount_exceeds_balance", "60.00"},
				{"/refund", body(refundBody(o, o+"-r2", "60.00")), 200, "RESOLVED", "0.00"},
				{"/void", body(opBody(o, o+"-v1")), 422, "refunds_exist", "0.00"},
			}
		}, "REFUND"},
		{"refunds add up", "purchased", func(o string) []step {
			return []step{
				{"/refund", body(refundBody(o, o+"-r1", "30.00")), 200, "RESOLVED", "70.00"},
				{"/refund", body(refundBody(o, o+"-r2", "30.00")), 200, "RESOLVED", "40.00"},
				{"/refund", body(refundBody(o, o+"-r3", "40.01")), 422, "amount_exceeds_balance", "40.00"},
				{"/refund", body(refundBody(o, o+"-r4", "40.00")), 200, "RESOLVED", "0.00"},
				{"/refund", body(refundBody(o, o+"-r5", "0.01")), 422, "amount_exceeds_balance", "0.00"},
			}
		}, "REFUND"},
		{"void of an authorisation", "paid", func(o string) []step {
			return []step{
				{"/void", body(opBody(o, o+"-v1")), 200, "RESOLVED", "0.00"},
				{"/purchase", body(opBody(o, o+"-p1")), 422, "session_voided", ""},
				{"/refund", body(refundBody(o, o+"-r1", "1.00")), 422, "session_voided", ""},
				{"/void", body(opBody(o, o+"-v2")), 422, "session_voided", ""},
				{"/start-session", body(startBody(o, o+"-s2", "100.00")), 422, "session_voided", "0.00"},
			}
		}, "VOID"},
		{"void of a purchase", "purchased", func(o string) []step {
			return []step{
				{"/void", body(opBody(o, o+"-v1")), 200, "RESOLVED", "0.00"},
				{"/refund", body(refundBody(o, o+"-r1", "1.00")), 422, "session_voided", "0.00"},
			}
		}, "VOID"},
		{"a failed capture leaves the authorisation", "none", nil, "PURCHASE"},
	}
	g := mustGateway(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order := "o-flow-" + strings.ReplaceAll(tt.name, " ", "-")
			if tt.steps == nil {
				g.mustPaid(t, order, "4000000000000341") // the sandbox's capture-fails card
				runSteps(t, g, order, []step{
					{"/purchase", body(opBody(order, order+"-p1")), 200, "REJECTED", "0.00"},
					{"/purchase", body(opBody(order, order+"-p2")), 200, "REJECTED", "0.00"},
					{"/void", body(opBody(order, order+"-v1")), 200, "RESOLVED", "0.00"},
				})
				h, _ := g.mustHistory(t, order)
				if len(h.Steps) != 4 || h.Steps[1].StatusCode != "REJECTED" || h.Steps[1].SubStatusCode != "PROCESSING_ERROR" {
					t.Fatalf("history: %+v", h.Steps)
				}
				return
			}
			g.mustOrderIn(t, order, tt.state)
			runSteps(t, g, order, tt.steps(order))
			if h, _ := g.mustHistory(t, order); h.LastAction != tt.lastAction {
				t.Fatalf("lastAction %s, want %s", h.LastAction, tt.lastAction)
			}
		})
	}
}

// TestHistoryFilters: the filters narrow the steps, the top of the
// history still reports the whole order.
func TestHistoryFilters(t *testing.T) {
	g := mustGateway(t)
	g.mustOrderIn(t, "o-filter", "refunded")
	g.mustOperate(t, "/refund", body(refundBody("o-filter", "r-more", "10.00")), "RESOLVED")
	tests := []struct {
		name  string
		edits []edit
		types string
	}{
		{"none", nil, "START,PURCHASE,REFUND,REFUND"},
		{"type", []edit{set("type", "REFUND")}, "REFUND,REFUND"},
		{"status", []edit{set("status", "RESOLVED")}, "START,PURCHASE,REFUND,REFUND"},
		{"subStatus", []edit{set("subStatus", "RISKY")}, ""},
		{"type and status", []edit{set("type", "START"), set("status", "REJECTED")}, ""},
	}
	for i, tt := range tests {
		r := g.call(t, "/history", body(opBody("o-filter", "h-"+string(rune('a'+i))), tt.edits...))
		var h history
		mustJSON(t, r, &h)
		var types []string
		for _, s := range h.Steps {
			types = append(types, s.Type)
		}
		if strings.Join(types, ",") != tt.types || h.LastAction != "REFUND" || h.Balance != "60.00" {
			t.Errorf("%s: steps %v, top %s %s", tt.name, types, h.LastAction, h.Balance)
		}
	}
}

// TestVoidAfterAPartialCapture: an AUTH of 100.00 captured for 50.00 and
// then voided asks the bank to reverse the 50.00 captured, not the 100.00
// authorised; the bank, which refuses a void of more than the payment
// holds, agrees, and both sides end at a balance of 0.
func TestVoidAfterAPartialCapture(t *testing.T) {
	g := mustGateway(t)
	s := g.mustPaid(t, "o-void-partial", sandbox.CardApproved, set("type", "AUTH"))
	g.mustOperate(t, "/purchase", body(opBody("o-void-partial", "p1"), set("orderAmount", number("50.00"))), "RESOLVED")
	g.mustOperate(t, "/void", body(opBody("o-void-partial", "v1")), "RESOLVED")
	acct, err := g.bank.Account(context.Background(), provider.PaymentReference(s.SessionID))
	if err != nil {
		t.Fatal(err)
	}
	if acct.State != "voided" || acct.Voided != 5000 || acct.Captured != 5000 {
		t.Fatalf("the bank's payment: %+v; want the 50.00 captured reversed", acct)
	}
	if h, _ := g.mustHistory(t, "o-void-partial"); h.Balance != "0.00" || h.LastAction != "VOID" {
		t.Fatalf("history: balance %s, last %s", h.Balance, h.LastAction)
	}
}
