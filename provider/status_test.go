package provider_test

import (
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
)

func TestSessionStateAndBalance(t *testing.T) {
	tests := []struct {
		phase   provider.Phase
		reject  provider.SubStatus
		state   provider.State
		balance provider.Money
	}{
		{provider.PhaseWaiting, "", provider.Waiting, 0},
		{provider.PhasePaying, "", provider.Waiting, 0},
		{provider.PhaseThreeDS, "", provider.Waiting, 0},
		{provider.PhasePending, "", provider.Waiting, 0},
		{provider.PhaseAuthorised, "", provider.Resolved, 0},
		{provider.PhasePurchased, "", provider.Resolved, 7000},
		{provider.PhaseVoided, "", provider.Resolved, 0},
		{provider.PhaseRejected, provider.SubRisky, provider.Risky, 0},
		{provider.PhaseRejected, provider.SubProcessingError, provider.ProcessingError, 0},
		{provider.PhaseExpired, "", provider.ProcessingError, 0},
	}
	for _, tt := range tests {
		s := &provider.Session{Phase: tt.phase, Rejection: tt.reject, Authorised: 10000}
		if tt.phase == provider.PhasePurchased || tt.phase == provider.PhaseVoided {
			s.Captured, s.Refunded = 10000, 3000
		}
		if got := s.State(); got != tt.state {
			t.Errorf("%s/%s: State = %+v, want %+v", tt.phase, tt.reject, got, tt.state)
		}
		if got := s.Balance(); got != tt.balance {
			t.Errorf("%s: Balance = %s, want %s", tt.phase, got, tt.balance)
		}
	}
}

func TestFormatTime(t *testing.T) {
	at := time.Date(2026, 11, 22, 11, 5, 9, 123456789, time.UTC)
	if got, want := provider.FormatTime(at), "2026-11-22T14:05:09.123+03:00"; got != want {
		t.Fatalf("FormatTime = %q, want %q", got, want)
	}
	if got, want := provider.FormatTime(at.In(time.FixedZone("x", -5*3600))), "2026-11-22T14:05:09.123+03:00"; got != want {
		t.Fatalf("FormatTime from another zone = %q, want %q", got, want)
	}
}

func TestStartStepFollowsThePayment(t *testing.T) {
	s := &provider.Session{ID: "s1", TransactionID: "t1", StartGUID: "g1", CreatedAt: now, Phase: provider.PhaseWaiting}
	tests := []struct {
		phase  provider.Phase
		reject provider.SubStatus
		want   provider.State
	}{
		{provider.PhaseWaiting, "", provider.Waiting},
		{provider.PhaseAuthorised, "", provider.Resolved},
		{provider.PhasePurchased, "", provider.Resolved},
		{provider.PhaseVoided, "", provider.Resolved}, // the payment itself succeeded; the void is its own step
		{provider.PhaseRejected, provider.SubRisky, provider.Risky},
	}
	for _, tt := range tests {
		s.Phase, s.Rejection = tt.phase, tt.reject
		st := s.StartStep()
		if st.Type != provider.ActionStart || st.GUID != "g1" || st.StatusCode != tt.want.Status || st.SubStatusCode != tt.want.SubStatus {
			t.Errorf("%s: StartStep = %+v", tt.phase, st)
		}
		if st.StatusDetail == "" || st.Timestamp != "2026-11-22T14:05:09.123+03:00" {
			t.Errorf("%s: StartStep detail/timestamp = %q/%q", tt.phase, st.StatusDetail, st.Timestamp)
		}
	}
}

func TestHistorySteps(t *testing.T) {
	current := &provider.Session{ID: "new"}
	steps := []provider.Step{
		{Type: provider.ActionStart, SessionID: "old", StatusCode: provider.StatusPending, SubStatusCode: provider.SubPaymentWaiting},
		{Type: provider.ActionStart, SessionID: "older-paid", StatusCode: provider.StatusRejected, SubStatusCode: provider.SubRisky},
		{Type: provider.ActionStart, SessionID: "new", StatusCode: provider.StatusPending, SubStatusCode: provider.SubPaymentWaiting},
		{Type: provider.ActionRefund, SessionID: "new", TransactionID: "r1", StatusCode: provider.StatusResolved, SubStatusCode: provider.SubResolved},
	}
	got := provider.HistorySteps(current, steps)
	if got[0].StatusCode != provider.StatusRejected || got[0].SubStatusCode != provider.SubProcessingError {
		t.Errorf("a replaced waiting session reads %s/%s, want REJECTED/PROCESSING_ERROR", got[0].StatusCode, got[0].SubStatusCode)
	}
	if got[1].SubStatusCode != provider.SubRisky || got[2].StatusCode != provider.StatusPending {
		t.Errorf("other steps changed: %+v", got)
	}
	if steps[0].StatusCode != provider.StatusPending {
		t.Errorf("HistorySteps changed its input")
	}

	filters := []struct {
		f    provider.HistoryFilter
		want int
	}{
		{provider.HistoryFilter{}, 4},
		{provider.HistoryFilter{Type: provider.ActionStart}, 3},
		{provider.HistoryFilter{TransactionID: "r1"}, 1},
		{provider.HistoryFilter{Status: provider.StatusRejected}, 2},
		{provider.HistoryFilter{SubStatus: provider.SubRisky}, 1},
		{provider.HistoryFilter{Type: provider.ActionRefund, Status: provider.StatusPending}, 0},
	}
	for _, tt := range filters {
		if n := len(tt.f.Filter(got)); n != tt.want {
			t.Errorf("Filter(%+v) kept %d steps, want %d", tt.f, n, tt.want)
		}
	}
	if last, ok := provider.LastStep(got); !ok || last.Type != provider.ActionRefund {
		t.Errorf("LastStep = %+v, %v", last, ok)
	}
	if _, ok := provider.LastStep(nil); ok {
		t.Errorf("LastStep(nil) reports a step")
	}
}
