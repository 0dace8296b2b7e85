package observe

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/akinon-gateway/gateway/provider"
)

// processor is a Processor that counts, times and traces every call.
type processor struct {
	provider.Processor
	name   string
	m      *Metrics
	tracer trace.Tracer
}

// Processor wraps p, the processor registered as name, so each call is
// counted by processor, operation and outcome, timed, and traced as a
// span (a child of the request's). m or tp may be nil.
func Processor(name string, p provider.Processor, m *Metrics, tp trace.TracerProvider) provider.Processor {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return &processor{Processor: p, name: name, m: m, tracer: tp.Tracer("github.com/akinon-gateway/gateway/processor")}
}

var _ provider.Processor = (*processor)(nil)

// observe runs one call: a span named for the operation, its outcome as
// an attribute and a label; the reference is on the span (it is the
// bank's key for the operation, not card data).
func observe[T any](p *processor, ctx context.Context, op, ref string, call func(context.Context) (T, error), outcome func(T) string) (T, error) {
	ctx, span := p.tracer.Start(ctx, "processor "+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("processor.name", p.name), attribute.String("processor.operation", op),
			attribute.String("processor.reference", ref)))
	defer span.End()
	start := time.Now()
	res, err := call(ctx)
	out := "no_answer"
	switch {
	case err == nil:
		out = outcome(res)
	case errors.Is(err, provider.ErrTransient):
		out = "transient"
	}
	span.SetAttributes(attribute.String("processor.outcome", out))
	if err != nil {
		span.SetStatus(codes.Error, out)
	}
	if p.m != nil {
		p.m.calls.WithLabelValues(p.name, op, out).Inc()
		p.m.callLatency.WithLabelValues(p.name, op).Observe(time.Since(start).Seconds())
	}
	return res, err
}

func resultOutcome(r provider.Result) string {
	switch r.Outcome {
	case provider.Approved:
		return "approved"
	case provider.Declined:
		return "declined"
	case provider.Fraud:
		return "fraud"
	case provider.Pending:
		return "pending"
	case provider.Challenge:
		return "challenge"
	}
	return "other"
}

func (p *processor) Authorise(ctx context.Context, req provider.AuthoriseRequest) (provider.Result, error) {
	return observe(p, ctx, "authorise", req.Reference, func(ctx context.Context) (provider.Result, error) { return p.Processor.Authorise(ctx, req) }, resultOutcome)
}

// The operations on an existing payment, observed alike.
func (p *processor) Capture(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.op(ctx, "capture", req, p.Processor.Capture)
}

func (p *processor) Void(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.op(ctx, "void", req, p.Processor.Void)
}

func (p *processor) Refund(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.op(ctx, "refund", req, p.Processor.Refund)
}

func (p *processor) Status(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return p.op(ctx, "status", req, p.Processor.Status)
}

// op observes one operation on an existing payment.
func (p *processor) op(ctx context.Context, method string, req provider.OperationRequest, call func(context.Context, provider.OperationRequest) (provider.Result, error)) (provider.Result, error) {
	return observe(p, ctx, method, req.Reference, func(ctx context.Context) (provider.Result, error) { return call(ctx, req) }, resultOutcome)
}

func (p *processor) Inquire(ctx context.Context, req provider.InquiryRequest) (provider.Inquiry, error) {
	return observe(p, ctx, "inquire", req.Reference, func(ctx context.Context) (provider.Inquiry, error) { return p.Processor.Inquire(ctx, req) },
		func(inq provider.Inquiry) string {
			if inq.Received {
				return "received"
			}
			return "not_received"
		})
}

// Complete passes a bank's return on to a processor that takes one
// (provider.Completer), counted and traced like every other call.
func (p *processor) Complete(ctx context.Context, req provider.CompleteRequest) (provider.Result, error) {
	c, ok := p.Processor.(provider.Completer)
	if !ok {
		return provider.Result{Outcome: provider.Declined, Code: "3DS", Detail: "the processor takes no return from a bank"}, nil
	}
	return observe(p, ctx, "complete", req.Reference, func(ctx context.Context) (provider.Result, error) { return c.Complete(ctx, req) }, resultOutcome)
}

var _ provider.Completer = (*processor)(nil)

// ProcessorFailures is what the service reports a failed processor call
// to (provider.Service.SetProcessorFailures): one warning line with the
// merchant, processor, operation, reference and error, and a count by
// processor, operation and kind. m may be nil.
func ProcessorFailures(log *zap.Logger, m *Metrics) func(context.Context, provider.ProcessorFailure) {
	return func(_ context.Context, f provider.ProcessorFailure) {
		kind := "no_answer"
		if f.Transient {
			kind = "transient"
		}
		log.Warn("processor error", zap.String("merchant", f.Merchant), zap.String("processor", f.Processor),
			zap.String("operation", f.Operation), zap.String("reference", f.Reference), zap.String("kind", kind),
			zap.Error(f.Err))
		if m != nil {
			m.processorErrors.WithLabelValues(f.Processor, f.Operation, kind).Inc()
		}
	}
}
