package provider

import (
	"errors"
	"sync"
)

// batchWorkers is how many claimed entries of one pass are worked on at
// once. Each waits mostly on Redis and the processor, and each is claimed
// on its own, so working on several at once is what several replicas
// would do anyway.
const batchWorkers = 16

// eachClaimed runs work on every entry, at most batchWorkers at a time,
// each with a report of its own that merge adds to the pass's under a
// lock, and joins their errors.
func eachClaimed[T, R any](entries []T, work func(T, *R) error, merge func(R)) error {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs = make([]error, len(entries))
		sem  = make(chan struct{}, batchWorkers)
	)
	for i, e := range entries {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var r R
			errs[i] = work(e, &r)
			mu.Lock()
			merge(r)
			mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
