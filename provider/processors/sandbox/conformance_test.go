package sandbox_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/processortest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestConformance runs the processor kit on the sandbox, its 3-D Secure
// through its ACS on an origin of its own.
func TestConformance(t *testing.T) {
	srv := redistest.Shared(t)
	rdb := srv.Client(t)
	prefix := redistest.Prefix(t) + ":sbx"
	acs := httptest.NewUnstartedServer(nil)
	p := sandbox.New(rdb, sandbox.Options{Prefix: prefix, ACSURL: "http://" + acs.Listener.Addr().String()})
	acs.Config.Handler = p.ACS()
	acs.Start()
	t.Cleanup(acs.Close)
	link := &link{Processor: p}
	processortest.Run(t, processortest.Kit{
		Processor: link,
		Faults:    link,
		Books:     p,
		Cards: processortest.Cards{Approve: sandbox.CardApproved, Decline: sandbox.CardDeclined,
			Challenge: sandbox.CardThreeDS, Frictionless: sandbox.CardFrictionless, NotEnrolled: sandbox.CardNotEnrolled},
		ChallengeCode: sandbox.ThreeDSCode,
		Currency:      "TRY",
		Stored:        processortest.StoredValues(rdb, prefix),
	})
}

// link is the network between the gateway and the sandbox, with the kit's
// fault switches: the bank acts on every call, and its answer may come
// back slowly or not at all.
type link struct {
	*sandbox.Processor
	mu   sync.Mutex
	slow time.Duration
	drop bool
}

func (l *link) Slow(t *testing.T, d time.Duration) { l.set(d, false) }
func (l *link) DropAfterActing(t *testing.T)       { l.set(0, true) }
func (l *link) Reset(t *testing.T)                 { l.set(0, false) }

func (l *link) set(slow time.Duration, drop bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.slow, l.drop = slow, drop
}

// after passes on what the bank answered after it acted, late or never.
func (l *link) after(ctx context.Context) func(provider.Result, error) (provider.Result, error) {
	return func(res provider.Result, err error) (provider.Result, error) {
		l.mu.Lock()
		slow, drop := l.slow, l.drop
		l.mu.Unlock()
		if drop {
			return provider.Result{}, errors.New("sandbox link: connection reset after the request was sent")
		}
		if slow > 0 {
			select {
			case <-time.After(slow):
			case <-ctx.Done():
				return provider.Result{}, ctx.Err()
			}
		}
		return res, err
	}
}

func (l *link) Authorise(ctx context.Context, req provider.AuthoriseRequest) (provider.Result, error) {
	return l.after(ctx)(l.Processor.Authorise(ctx, req))
}

func (l *link) Capture(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return l.after(ctx)(l.Processor.Capture(ctx, req))
}

func (l *link) Void(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return l.after(ctx)(l.Processor.Void(ctx, req))
}

func (l *link) Refund(ctx context.Context, req provider.OperationRequest) (provider.Result, error) {
	return l.after(ctx)(l.Processor.Refund(ctx, req))
}
