package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// A closed loop like wrk -cN: N workers, each with one keep-alive
// connection, each sending its next request when the previous answer has
// been read. Throughput is what the server gives, not what we offer.

// request makes the body of worker w's i-th request.
type request func(w, i int) []byte

// result is one window of load.
type result struct {
	Requests, Errors int
	WarmupRequests   int // answered before the window, not counted in it
	Elapsed          time.Duration
	Latencies        []time.Duration // sorted
	FirstError       string
}

func (r result) rate() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// newClient is an HTTP client with conns keep-alive connections.
func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}}
}

// load posts to url from conns workers for warmup, then counts for window.
func load(ctx context.Context, c *http.Client, url, user, pass string, conns int, warmup, window time.Duration, body request) result {
	start := time.Now()
	countFrom, stop := start.Add(warmup), start.Add(warmup+window)
	var (
		mu  sync.Mutex
		all result
		wg  sync.WaitGroup
	)
	for w := range conns {
		wg.Go(func() {
			var lat []time.Duration
			errs, warm, first := 0, 0, ""
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				if !t0.Before(stop) {
					break
				}
				status, err := post(ctx, c, url, user, pass, body(w, i))
				took := time.Since(t0)
				if t0.Before(countFrom) {
					warm++
					continue
				}
				lat = append(lat, took)
				if err != nil || status != http.StatusOK {
					errs++
					if first == "" {
						first = describe(status, err)
					}
				}
			}
			mu.Lock()
			all.Latencies = append(all.Latencies, lat...)
			all.Errors += errs
			all.WarmupRequests += warm
			if all.FirstError == "" {
				all.FirstError = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	all.Elapsed = time.Since(countFrom) // the requests in flight at the end finish inside it
	all.Requests = len(all.Latencies)
	slices.Sort(all.Latencies)
	return all
}

func post(ctx context.Context, c *http.Client, url, user, pass string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, pass)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

func describe(status int, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("HTTP %d", status)
}
