// Package benchjobs builds nothing: its benchmarks are `make bench-jobs`,
// the background work measured on a real redis-server — the expiry and
// pending jobs and the reconciler in items per second, and the webhook
// sender draining a backlog of due events with three replicas, counting
// duplicates. They time things, so they are benchmarks, outside `make
// test`; docs/benchmarks.md says how to read them.
package benchjobs
