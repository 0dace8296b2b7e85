package nestpay

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/akinon-gateway/gateway/provider"
)

// inquiryStates maps the order-status query's TRANS_STAT to the domain.
var inquiryStates = map[string]provider.Outcome{
	"A":  provider.Approved,  // approved (authorised, captured, voided or refunded as asked)
	"D":  provider.Declined,  // declined by the bank, or its 3-D Secure failed
	"3D": provider.Challenge, // the shopper is still at the gate or the ACS
}

// transStatClosed is an order or operation the bank closed without acting,
// because an inquiry found it not received.
const transStatClosed = "C"

// Inquire implements provider.Processor with the order-status query
// (Extra/ORDERSTATUS=QUERY). A reference the bank never received is closed
// with a Void of that reference before "not received" is answered, so a
// request still on its way cannot act afterwards.
func (p *Processor) Inquire(ctx context.Context, req provider.InquiryRequest) (provider.Inquiry, error) {
	order := req.ProcessorID
	if req.Operation == provider.OpAuthorise || req.Operation == provider.OpAuthenticate || order == "" {
		order = req.Reference
	}
	extra := Extra{OrderStatus: "QUERY", Reference: req.Reference, Operation: string(opOf(req.Operation))}
	answer, err := p.call(ctx, Request{OrderID: order, Extra: extra})
	if err != nil {
		return provider.Inquiry{}, err
	}
	notReceived := answer.ProcReturnCode == codeNoRecord && strings.HasPrefix(answer.ErrMsg, msgNoRecord)
	if notReceived || answer.Extra.TransStat == transStatClosed {
		return p.close(ctx, order, req)
	}
	outcome, ok := inquiryStates[answer.Extra.TransStat]
	if !ok || answer.Response != "Approved" {
		return provider.Inquiry{}, fmt.Errorf("%w: order status %q / %q", errBadAnswer, answer.Response, answer.Extra.TransStat)
	}
	amount, _ := strconv.ParseInt(answer.Extra.Amount, 10, 64)
	return provider.Inquiry{Received: true, Amount: provider.Money(amount), Result: provider.Result{
		Outcome: outcome, Code: answer.Extra.OpCode, Detail: "order status " + answer.Extra.TransStat, ProcessorID: order,
	}}, nil
}

// close voids a reference the bank never received; only the bank's
// confirmation makes it "not received".
func (p *Processor) close(ctx context.Context, order string, req provider.InquiryRequest) (provider.Inquiry, error) {
	answer, err := p.call(ctx, Request{Type: "Void", OrderID: order,
		Extra: Extra{Reference: req.Reference, Operation: "close:" + string(opOf(req.Operation))}})
	if err != nil {
		return provider.Inquiry{}, err
	}
	if answer.Response != "Approved" {
		return provider.Inquiry{}, fmt.Errorf("nestpay: closing %s %s refused: %s %s", req.Operation, req.Reference, answer.ProcReturnCode, answer.ErrMsg)
	}
	return provider.Inquiry{Received: false}, nil
}

// opOf names the payment's own authorisation the same whether the gateway
// asks about the card step or its 3-D Secure completion.
func opOf(op provider.Operation) provider.Operation {
	if op == provider.OpAuthenticate {
		return provider.OpAuthorise
	}
	return op
}
