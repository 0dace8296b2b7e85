# The two commands of the README: `make run` and `make test`.
SHELL       := /bin/bash
GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test check fmt vet staticcheck race bench bench-load bench-jobs vuln test-ha

## run: the gateway on :8080 (embedded store unless REDIS_URL is set; DEV_MODE=1 unless set)
run:
	DEV_MODE=$${DEV_MODE-1} $(GO) run ./cmd/gateway

## test: everything CI runs
test: check test-embedded e2e e2e-browser test-ha test-abuse

## check: gofmt, go vet, staticcheck, and every test under the race detector
check: fmt vet staticcheck race

## vuln: govulncheck (needs https://vuln.go.dev, so it is not part of test)
vuln:
	$(GO) run golang.org/x/vuln/cmd/govulncheck@v1.9.0 ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(STATICCHECK) ./...

race:
	$(GO) test -race -count=1 -timeout 10m ./...

## bench: the HTTP calls against two baselines measured in the same run:
## an Echo handler that touches nothing, and one Redis round trip
bench:
	@$(GO) test -run '^$$' -bench . -benchmem -count 1 ./extension/ | tee /dev/stderr | awk '\
	  /^Benchmark/ { name=$$1; sub(/-[0-9]+$$/, "", name); ns[name]=$$3; order[++n]=name } \
	  END { base=ns["BenchmarkBaseline"]; rt=ns["BenchmarkRedisRoundTrip"]; \
	    printf "\n%-26s %12s %14s %16s\n", "benchmark", "ns/op", "× baseline", "× round trip"; \
	    for (i=1; i<=n; i++) { k=order[i]; printf "%-26s %12d %14.1f %16.1f\n", k, ns[k], ns[k]/base, ns[k]/rt } }' 

## bench-load: the gateway (DEV_MODE off) and the floor (Echo, Basic auth, go-redis, an idempotent
## reply) on one redis-server, and two gateways on a redis-server with a replica (one waiting for it,
## REDIS_MIN_REPLICAS=1, one not), loaded in turn over TCP, interleaved rounds, medians; see
## docs/benchmarks.md. Settings: BENCH_DURATION (10s), BENCH_CONNECTIONS (64), BENCH_ROUNDS (3),
## BENCH_WARMUP (1s), BENCH_PROFILE (a directory for the gateway's CPU profile of each scenario's
## round-1 window). It times things, so it is not part of test.
bench-load:
	GO=$(GO) $(GO) run ./cmd/benchload

## bench-jobs: the background work on a real redis-server, seeded through the store's scripts:
## the expiry and pending jobs and the reconciler (items/s, one replica; BENCH_JOBS_N, 5000), the
## webhook senders of three replicas draining BENCH_WEBHOOK_EVENTS (100000) due events to a local
## receiver (events/s, duplicates); with each, the CPU per item of this process and of the
## redis-server; each BENCH_JOBS_COUNT (3) times, the medians (duplicates: the sum); see
## docs/benchmarks.md. Not part of test.
bench-jobs:
	@$(GO) test -run '^$$' -bench . -benchtime 1x -count $${BENCH_JOBS_COUNT:-3} -timeout 60m ./cmd/benchjobs | awk '\
	  { print } \
	  /^Benchmark/ { name=$$1; sub(/-[0-9]+$$/, "", name); sub(/^Benchmark/, "", name); \
	    if (!(name in runs)) order[++n]=name; k=++runs[name]; \
	    for (i=5; i<NF; i+=2) { u=$$(i+1); if (u=="events/s") u="items/s"; v[name, u, k]=$$i } } \
	  function median(name, unit,   m, a, i, j, x) { m=runs[name]; \
	    for (i=1; i<=m; i++) a[i]=v[name, unit, i]+0; \
	    for (i=2; i<=m; i++) { x=a[i]; for (j=i-1; j>=1 && a[j]>x; j--) a[j+1]=a[j]; a[j+1]=x } \
	    return m%2 ? a[(m+1)/2] : (a[m/2]+a[m/2+1])/2 } \
	  END { printf "\nmedians of %d runs each\n%-14s %12s %12s %12s %12s %s\n", runs[order[1]], "job", "items/s", "gw-µs/item", "redis-µs/item", "duplicates", "target"; \
	    t["ExpiryJob"]=">= 5,000 items/s"; t["PendingJob"]=">= 5,000 items/s"; t["Reconciler"]=">= 2,000 items/s"; \
	    t["WebhookDrain"]=">= 3,000 events/s, 0 duplicates"; \
	    for (i=1; i<=n; i++) { k=order[i]; d="-"; \
	      if ((k, "duplicates", 1) in v) { d=0; for (j=1; j<=runs[k]; j++) d+=v[k, "duplicates", j] } \
	      printf "%-14s %12.0f %12.0f %12.0f %12s %s\n", k, median(k, "items/s"), median(k, "gw-µs/item"), median(k, "redis-µs/item"), d, t[k] } }'; \
	  exit $${PIPESTATUS[0]}

.PHONY: test-embedded e2e e2e-browser test-abuse

## test-abuse: the slow-upload attack on the gateway as a process (21 loopback addresses × 200
## connections): health and Akinon's calls within 1 s, RSS under 128 MiB; alone and without -race,
## as it measures latency
test-abuse:
	$(GO) test -count=1 -run '^TestSlowUploadsDoNotStallTheListener$$' -v ./cmd/gateway 2>&1 | grep -v '^{'; exit $${PIPESTATUS[0]}

## test-embedded: the store's tests on miniredis, the embedded store of `make run`, rather
## than on redis-server; tests that need a redis-server process skip, saying why
test-embedded:
	REDISTEST_EMBEDDED=1 $(GO) test -count=1 ./provider/redisstore/...

## test-ha: real Sentinel (1 master, 1 or 2 replicas, 3 sentinels) and Cluster (3 masters, 1 or 2
## replicas each) topologies: the failover matrix under load (docs/failover.md), the binary with
## every integration on, then every e2e scenario on Sentinel and on Cluster
test-ha:
	GATEWAY_HA=1 $(GO) test -count=1 -timeout 20m -run '^TestFailover$$' -v ./cmd/gateway 2>&1 | awk '!/^[{]/ || /"status":500/' | grep -v '^redis:'; exit $${PIPESTATUS[0]}
	GATEWAY_HA=1 $(GO) test -count=1 -timeout 10m -run '^TestEveryIntegrationOn$$' ./cmd/gateway
	E2E_TOPOLOGY=sentinel CHECKOUT_E2E=http GO=$(GO) $(GO) test -count=1 -timeout 10m -run '^TestE2E$$' ./cmd/checkout
	E2E_TOPOLOGY=cluster CHECKOUT_E2E=http GO=$(GO) $(GO) test -count=1 -timeout 10m -run '^TestE2E$$' ./cmd/checkout

## e2e: a redis-server, the gateway and the checkout driver on free ports; every scenario over HTTP
e2e:
	CHECKOUT_E2E=http GO=$(GO) $(GO) test -count=1 -timeout 10m -run '^TestE2E$$' -v ./cmd/checkout

## e2e-browser: the same walk in headless Chromium, reading the DOM it reached
e2e-browser:
	CHECKOUT_E2E=browser GO=$(GO) $(GO) test -count=1 -timeout 10m -run '^TestE2E$$' -v ./cmd/checkout
