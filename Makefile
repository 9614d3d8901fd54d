# cachegen's everyday commands. `make test` is what CI runs.
GO      ?= go
# Generated code lives in the example, the suites' models and every golden
# case but the error cases, in golden/testdata where go list does not look.
GEN_DIRS = ./examples/... ./runtime/enginetest/... ./internal/checkmodel/... ./internal/openworld/... $(shell $(GO) list ./golden/... | grep -v '/golden$$')

.PHONY: all generate check test race20 bench bench-plot bench-go fuzz example consistency

all: check test

## generate: regenerate every checked-in generated file
generate:
	$(GO) run ./cmd/cachegen $(GEN_DIRS)

## check: fail when a checked-in generated file is stale, missing or orphaned
check:
	$(GO) run ./cmd/cachegen -check $(GEN_DIRS)

.PHONY: lint help
# staticcheck at the version tools/go.mod pins (and tools/go.sum checks):
# built once, the binary and its findings are then cached; no network after.
STATICCHECK ?= $(GO) tool -modfile=$(CURDIR)/tools/go.mod staticcheck

## lint: go vet and staticcheck (default checks, none turned off) over the
## root module and bench/
# golden/errors holds the models cachegen must reject (a repeated tag, an
# unused field): the findings there are the point, so it is not linted.
lint:
	$(GO) vet ./...
	@pkgs="$$($(GO) list ./... | grep -v /golden/errors/)" && [ -n "$$pkgs" ] && \
		echo "$(STATICCHECK) <the root module's packages but golden/errors>" && $(STATICCHECK) $$pkgs
	cd bench && $(GO) vet ./... && $(STATICCHECK) ./...

## help: list these targets with their descriptions
help:
	@awk '/^## [A-Za-z0-9_-]+:/ { sub(/^## /, ""); n = index($$0, ":"); \
		printf "%-12s %s\n", substr($$0, 1, n - 1), substr($$0, n + 2); more = 1; next } \
		more && /^##/ { sub(/^## ?/, ""); printf "%-12s %s\n", "", $$0; next } \
		{ more = 0 }' $(firstword $(MAKEFILE_LIST))

INTEGRATION_VARS = CACHEGEN_PG_DSN CACHEGEN_MYSQL_DSN CACHEGEN_REDIS_ADDR CACHEGEN_REDIS_CLUSTER CACHEGEN_MEMCACHED_ADDR CACHEGEN_REDIS_SENTINEL CACHEGEN_BROWSER

## test: vet and run every test, with the race detector; integration suites
## run for the servers named in $(INTEGRATION_VARS)
test:
	@for v in $(INTEGRATION_VARS); do \
		[ -n "$$(printenv $$v)" ] || echo "make test: $$v is not set: its integration suite is skipped (.ci/run sets them all)"; \
	done
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

RACE_RUNS ?= 20

## race20: the runtime's tests with the race detector $(RACE_RUNS) times in a
## row, stopping at the first failure: no test of ./runtime/... may flake on
## a loaded machine (run it with the integration variables of `make test` set)
race20:
	@for i in $$(seq $(RACE_RUNS)); do \
		echo "race20: run $$i of $(RACE_RUNS)"; \
		$(GO) test -race -count=1 ./runtime/... || { echo "race20: run $$i failed"; exit 1; }; \
	done; echo "race20: $(RACE_RUNS) runs passed"

## bench: the side-by-side suite (bench/, a module of its own so that only it
## depends on go-zero): direct query, raw Redis GET, cachegen, go-zero, and
## the blog's post page over HTTP (render, 304, page cache), on PostgreSQL +
## Redis, and the write figures on MariaDB + Redis too (the _mariadb lines);
## prints "bench: name=value" lines with the ratios; then the
## change-stream consumer's throughput and lag on the CDC servers
## (scripts/pg-logical.sh, scripts/mariadb-binlog.sh)
bench:
	cd bench && $(GO) run . -pg "$${CACHEGEN_PG_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" -redis "$${CACHEGEN_REDIS_ADDR:-127.0.0.1:6379}" \
		-mysql "$(CONSISTENCY_MYSQL)" -pg-cdc "$(CONSISTENCY_PG_CDC)" -mysql-cdc "$(CONSISTENCY_MYSQL_CDC)"

## bench-plot: run `make bench` into docs/bench.out (git ignores *.out), print
## it, and draw docs/benchmarks.png from it with bench/cmd/plot: read latency
## per read path in µs, log scale. To redraw from an existing output:
## cd bench && go run ./cmd/plot -o ../docs/benchmarks.png ../docs/bench.out
bench-plot:
	$(MAKE) -s --no-print-directory bench > docs/bench.out
	@cat docs/bench.out
	cd bench && $(GO) run ./cmd/plot -o ../docs/benchmarks.png ../docs/bench.out

## bench-go: the go test benchmarks of the main module
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./runtime/... ./examples/...

## fuzz: a short run of each fuzz target beyond its checked-in corpus
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecoder -fuzztime 30s ./runtime/wire
	$(GO) test -run '^$$' -fuzz FuzzKeyGroupsInjective -fuzztime 30s ./runtime
	$(GO) test -run '^$$' -fuzz FuzzBlobKeysInjective -fuzztime 30s ./internal/openworld/nullkeys

CONSISTENCY_OPS ?= 200000
NEGATIVE_OPS    ?= 20000
# Two builds without the board go stale only when a read by the second
# build's own index meets a write of the first build's: 1 to 6 stale reads
# in 20,000 operations, so that control runs longer to be caught every time.
BOARD_NEGATIVE_OPS ?= 60000
# The change stream under a rolling deploy (each consumer of one build):
# 20,000 operations: the two-builds and -cdc lines above run the rest long.
CDC_TWO_BUILDS_OPS ?= 20000
CONSISTENCY_PG    = $${CACHEGEN_PG_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
CONSISTENCY_MYSQL = $${CACHEGEN_MYSQL_DSN:-root@tcp(127.0.0.1:3306)/test}
CONSISTENCY_PG_CDC    = $${CACHEGEN_PG_CDC_DSN:-postgres://postgres@127.0.0.1:5433/test?sslmode=disable}
CONSISTENCY_MYSQL_CDC = $${CACHEGEN_MYSQL_CDC_DSN:-root@tcp(127.0.0.1:3307)/test}

## consistency: cmd/cachecheck with faults on SQLite + memory, PostgreSQL +
## Redis, MariaDB + Redis, PostgreSQL + Redis with near caches (bound
## 100ms), PostgreSQL + Redis with two builds of the model at once,
## PostgreSQL + Redis whose restarts come back from an older snapshot,
## PostgreSQL + Redis failing over to a replica that missed releases, in
## the safe mode (WAIT for the replica) and in the default mode (the
## fence), PostgreSQL and MariaDB + Redis with raw SQL writers and two
## change-stream consumers, killed, handed over, cut from the database and
## the store, and an ALTER TABLE mid-stream, then with each consumer on one
## of two builds (-cdc, bound 5s; scripts/pg-logical.sh and
## scripts/mariadb-binlog.sh servers) ($(CONSISTENCY_OPS) operations each;
## the Redis pairs start a redis-server of their own), then the negative
## controls (raw writers with no consumer; a consumer that acknowledges
## before it drops keys and dies between the two; the protocol
## weakened to plain get/set/delete; the batch calls alone weakened so; near
## caches on a bus that loses every message; two builds without the build
## board), which must report violations
consistency:
	@status=0; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db sqlite -store memory || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db "$(CONSISTENCY_PG)" -store redis || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db "$(CONSISTENCY_MYSQL)" -store redis || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db "$(CONSISTENCY_PG)" -store redis -near 100ms || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db "$(CONSISTENCY_PG)" -store redis -two-builds -herd=false || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db "$(CONSISTENCY_PG)" -store redis -restart-from-snapshot -herd=false || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db "$(CONSISTENCY_PG)" -store redis -failover -redis-wait 1 -herd=false || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db "$(CONSISTENCY_PG)" -store redis -failover -herd=false || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db "$(CONSISTENCY_PG_CDC)" -store redis -cdc -cdc-bound 5s -herd=false || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CONSISTENCY_OPS) -db "$(CONSISTENCY_MYSQL_CDC)" -store redis -cdc -cdc-bound 5s -herd=false || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(CDC_TWO_BUILDS_OPS) -db "$(CONSISTENCY_PG_CDC)" -store redis -cdc -cdc-bound 5s -two-builds -herd=false || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(NEGATIVE_OPS) -db "$(CONSISTENCY_PG_CDC)" -store redis -cdc -cdc-off -faults=false -herd=false -expect-violations || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(NEGATIVE_OPS) -db "$(CONSISTENCY_MYSQL_CDC)" -store redis -cdc -cdc-ack-first -faults=false -herd=false -expect-violations || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(NEGATIVE_OPS) -db sqlite -store memory -weak -faults=false -herd=false -expect-violations || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(NEGATIVE_OPS) -db sqlite -store memory -weak-batch fill -faults=false -herd=false -expect-violations || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(NEGATIVE_OPS) -db "$(CONSISTENCY_PG)" -store redis -near 100ms -near-lossy -faults=false -herd=false -expect-violations || status=1; \
	$(GO) run ./cmd/cachecheck -q -ops $(BOARD_NEGATIVE_OPS) -db "$(CONSISTENCY_PG)" -store redis -two-builds -no-board -faults=false -herd=false -expect-violations || status=1; \
	exit $$status

## example: run the blog example (SQLite + in-memory store, no server)
example:
	$(GO) run ./examples/blog
