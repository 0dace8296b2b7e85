package provider

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// changes applies a pass's transitions while its workers are still at
// work on the rest: once changeBatch changes are waiting, or the oldest
// has waited changeWait, all that are waiting go in one round trip, and
// what is left when the workers are done goes in the last. Writing runs
// beside the processor's calls, as it did when each worker wrote its
// own, and a processor slow to answer for one entry holds no other's
// change back.
type changes struct {
	s    *Service
	ctx  context.Context
	wake chan struct{}
	done chan struct{}

	mu      sync.Mutex
	queued  []Transition
	since   time.Time // when the oldest queued change came
	closed  bool
	applied int     // written by run alone, read after done
	errs    []error // likewise
}

// A PENDING payment's change comes after its own processor call, and the
// calls end one by one: without a batch to wait for, most round trips
// would carry a single change.
const (
	changeBatch = batchWorkers / 2
	changeWait  = 2 * time.Millisecond
)

func (s *Service) changes(ctx context.Context) *changes {
	c := &changes{s: s, ctx: context.WithoutCancel(ctx), wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

// add queues a worker's changes.
func (c *changes) add(trs []Transition) {
	if len(trs) == 0 {
		return
	}
	c.mu.Lock()
	if len(c.queued) == 0 {
		c.since = time.Now()
	}
	c.queued = append(c.queued, trs...)
	c.mu.Unlock()
	c.signal()
}

// wait applies what is still queued and reports how many changes the
// store applied (not those whose session had moved on) and their errors.
func (c *changes) wait() (int, error) {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.signal()
	<-c.done
	return c.applied, errors.Join(c.errs...)
}

func (c *changes) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

func (c *changes) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		n, last, due := len(c.queued), c.closed, c.since.Add(changeWait)
		var take []Transition
		if n > 0 && (last || n >= changeBatch || !time.Now().Before(due)) {
			take, c.queued = c.queued, nil
		}
		c.mu.Unlock()
		switch {
		case len(take) > 0:
			applied, err := c.s.apply(c.ctx, take)
			c.applied += applied
			if err != nil {
				c.errs = append(c.errs, err)
			}
		case last:
			return
		case n > 0:
			t := time.NewTimer(time.Until(due))
			select {
			case <-c.wake:
			case <-t.C:
			}
			t.Stop()
		default:
			<-c.wake
		}
	}
}

// apply asks the store to apply changes in one round trip and counts
// those it applied. A change that failed stays claimed and is looked at
// again after its lease, as when the process dies before applying it.
func (s *Service) apply(ctx context.Context, changes []Transition) (int, error) {
	applied, errs := s.store.Transitions(ctx, changes)
	n, failed := 0, 0
	var first error
	for i := range changes {
		switch {
		case errs[i] != nil:
			failed++
			first = cmp.Or(first, errs[i])
		case applied[i]:
			n++
		}
	}
	if first != nil {
		return n, storeError(fmt.Errorf("%d of %d changes: %w", failed, len(changes), first))
	}
	return n, nil
}
