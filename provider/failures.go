package provider

import (
	"context"
	"errors"
)

// ProcessorFailure is one processor call that ended in an error instead of
// an answer, as the service reports it: whose payment, which processor and
// operation, the reference the bank keys it by, and the processor's error.
// It holds no card data: processors keep card numbers out of their errors
// (the conformance kit checks it).
type ProcessorFailure struct {
	Merchant, Processor, Operation, Reference string
	Transient                                 bool // the processor certainly did nothing (ErrTransient)
	Err                                       error
}

// SetProcessorFailures has every processor call of the service that ends
// in an error reported to report (the log and the metrics of extension/observe).
func (s *Service) SetProcessorFailures(report func(context.Context, ProcessorFailure)) {
	s.failures = report
}

// reporting is a merchant's processor whose failed calls are reported.
type reporting struct {
	Processor
	merchant, name string
	report         func(context.Context, ProcessorFailure)
}

var _ Completer = reporting{}

func (r reporting) done(ctx context.Context, op Operation, ref string, err error) {
	if err != nil {
		r.report(ctx, ProcessorFailure{Merchant: r.merchant, Processor: r.name, Operation: string(op), Reference: ref,
			Transient: errors.Is(err, ErrTransient), Err: err})
	}
}

func (r reporting) Authorise(ctx context.Context, req AuthoriseRequest) (Result, error) {
	res, err := r.Processor.Authorise(ctx, req)
	r.done(ctx, OpAuthorise, req.Reference, err)
	return res, err
}

// op reports a failed operation on an existing payment.
func (r reporting) op(ctx context.Context, op Operation, req OperationRequest,
	call func(context.Context, OperationRequest) (Result, error)) (Result, error) {
	res, err := call(ctx, req)
	r.done(ctx, op, req.Reference, err)
	return res, err
}

func (r reporting) Capture(ctx context.Context, req OperationRequest) (Result, error) {
	return r.op(ctx, OpCapture, req, r.Processor.Capture)
}

func (r reporting) Void(ctx context.Context, req OperationRequest) (Result, error) {
	return r.op(ctx, OpVoid, req, r.Processor.Void)
}

func (r reporting) Refund(ctx context.Context, req OperationRequest) (Result, error) {
	return r.op(ctx, OpRefund, req, r.Processor.Refund)
}

func (r reporting) Status(ctx context.Context, req OperationRequest) (Result, error) {
	return r.op(ctx, "status", req, r.Processor.Status)
}

func (r reporting) Inquire(ctx context.Context, req InquiryRequest) (Inquiry, error) {
	inq, err := r.Processor.Inquire(ctx, req)
	r.done(ctx, "inquire", req.Reference, err)
	return inq, err
}

// Complete passes a bank's return on to a processor that takes one, and
// declines it for one that does not, as the service itself would.
func (r reporting) Complete(ctx context.Context, req CompleteRequest) (Result, error) {
	c, ok := r.Processor.(Completer)
	if !ok {
		return Result{Outcome: Declined, Code: "3DS", Detail: "the processor takes no return from a bank"}, nil
	}
	res, err := c.Complete(ctx, req)
	r.done(ctx, "complete", req.Reference, err)
	return res, err
}
