package extension

import (
	"encoding/json"
	"net/http"

	"github.com/akinon-gateway/gateway/provider"
)

// The contract's response bodies. Field order follows the contract so the
// bytes read like its examples.

type startSessionResponse struct {
	Type           string `json:"type"`
	RedirectURL    string `json:"redirectUrl"`
	RedirectMethod string `json:"redirectMethod"`
	SessionID      string `json:"sessionId"`
	TransactionID  string `json:"transactionId"`
}

type operationResponse struct {
	TransactionID string `json:"transactionId"`
	Status        string `json:"status"`
	SubStatus     string `json:"subStatus"`
}

type historyResponse struct {
	LastAction string         `json:"lastAction"`
	Status     string         `json:"status"`
	Substatus  string         `json:"substatus"` // sic: the contract spells it so at the top
	Balance    provider.Money `json:"balance"`
	Currency   string         `json:"currency"`
	Steps      []historyStep  `json:"paymentTransactionHistory"`
}

type historyStep struct {
	GUID          string             `json:"guid"`
	Type          string             `json:"type"`
	Timestamp     string             `json:"timestamp"`
	StatusCode    string             `json:"statusCode"`
	SubStatusCode string             `json:"subStatusCode"`
	StatusDetail  string             `json:"statusDetail"`
	SubSteps      []provider.SubStep `json:"subSteps"`
}

func (s *Server) renderStart(a provider.Answer) provider.Reply {
	if a.Err != nil {
		return refusalReply(a.Err)
	}
	return jsonReply(startSessionResponse{
		Type:           string(a.Session.Type),
		RedirectURL:    s.publicURL + "/pay/" + a.Session.ID,
		RedirectMethod: http.MethodGet,
		SessionID:      a.Session.ID,
		TransactionID:  a.Session.TransactionID,
	})
}

func renderOperation(a provider.Answer) provider.Reply {
	if a.Err != nil {
		return refusalReply(a.Err)
	}
	return jsonReply(operationResponse{TransactionID: a.TransactionID,
		Status: string(a.State.Status), SubStatus: string(a.State.SubStatus)})
}

// renderHistory reports the whole order at the top (the last step, the
// balance) and the steps that pass the filter below.
func renderHistory(a provider.Answer, filter provider.HistoryFilter) provider.Reply {
	if a.Err != nil {
		return refusalReply(a.Err)
	}
	resp := historyResponse{Balance: a.Session.Balance(), Currency: a.Session.Currency, Steps: []historyStep{}}
	if last, ok := provider.LastStep(a.Steps); ok {
		resp.LastAction, resp.Status, resp.Substatus = string(last.Type), string(last.StatusCode), string(last.SubStatusCode)
	}
	for _, st := range filter.Filter(a.Steps) {
		subs := st.SubSteps
		if subs == nil {
			subs = []provider.SubStep{}
		}
		resp.Steps = append(resp.Steps, historyStep{GUID: st.GUID, Type: string(st.Type), Timestamp: st.Timestamp,
			StatusCode: string(st.StatusCode), SubStatusCode: string(st.SubStatusCode), StatusDetail: st.StatusDetail, SubSteps: subs})
	}
	return jsonReply(resp)
}

func refusalReply(e *provider.Error) provider.Reply {
	status, body := errorReply(e)
	return provider.Reply{Status: status, Body: body}
}

func jsonReply(v any) provider.Reply {
	b, err := json.Marshal(v)
	if err != nil {
		return refusalReply(provider.Wrap(provider.CodeInternal, "internal error", err))
	}
	return provider.Reply{Status: http.StatusOK, Body: b}
}
