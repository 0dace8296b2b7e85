package nestpay

import (
	"context"

	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
)

// Complete implements provider.Completer: it checks the bank's return
// (its hash, the store, the order, the amount and the currency against what
// the gateway stored, then mdStatus) and asks the XML API for the provision
// with the authentication values. A return that fails a check is Declined
// without calling the bank.
func (p *Processor) Complete(ctx context.Context, req provider.CompleteRequest) (provider.Result, error) {
	f := req.Fields
	if !hashing.VerifyNestPayV3(p.s.StoreKey, hashing.NestPayHashField(f), f) {
		return refused("HASH", "the bank's return does not verify"), nil
	}
	currency := currencyNumeric[req.Currency]
	for _, c := range []struct{ field, want string }{
		{"clientid", p.s.ClientID},
		{"oid", req.Reference},
		{"amount", req.Amount.String()},
		{"currency", currency},
	} {
		if f[c.field] != c.want || c.want == "" {
			return refused("MISMATCH", "the bank's return names another "+c.field), nil
		}
	}
	if _, ok := mdStatusProceeds[f["mdStatus"]]; !ok {
		return refused("MD"+f["mdStatus"], "3-D Secure: "+mdStatusDetail(f["mdStatus"])), nil
	}
	answer, err := p.call(ctx, Request{
		Type: tranType(req.Type), OrderID: req.Reference, Total: req.Amount.String(), Currency: currency,
		Taksit: taksit(req.Installment), Number: f["md"], PayerTxnID: f["xid"],
		PayerSecurityLevel: f["eci"], PayerAuthenticationCode: f["cavv"], Mode: "P",
		Extra: Extra{Reference: req.Reference, Operation: string(provider.OpAuthorise)},
	})
	if err != nil {
		return provider.Result{}, err
	}
	return result(answer, req.Reference)
}
