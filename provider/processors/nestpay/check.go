package nestpay

import (
	"context"
	"fmt"
	"strings"
)

// Check proves the settings before the gateway takes payments
// (-check-config): it asks the XML API the status of an order that cannot
// exist, which only a reachable bank that accepts the API user answers
// "No record found". Nothing is voided or created at the bank.
func (p *Processor) Check(ctx context.Context) error {
	rnd, err := nonce()
	if err != nil {
		return err
	}
	answer, err := p.call(ctx, Request{OrderID: "check-" + rnd, Extra: Extra{OrderStatus: "QUERY"}})
	if err != nil {
		return fmt.Errorf("the XML API at %s: %w", p.s.APIURL, err)
	}
	if answer.ProcReturnCode == codeNoRecord && strings.HasPrefix(answer.ErrMsg, msgNoRecord) {
		return nil
	}
	return fmt.Errorf("the XML API at %s refuses the store's API user or client id: %s %s %s",
		p.s.APIURL, answer.Response, answer.ProcReturnCode, answer.ErrMsg)
}
