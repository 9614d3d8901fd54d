# cachegen's everyday commands. `make test` is what CI runs.
GO      ?= go
# Generated code lives in the example and in every golden case but the
# error cases, which must not generate.
GEN_DIRS = ./examples/... $(shell $(GO) list ./golden/... | grep -v -e /golden/errors -e '/golden$$')

.PHONY: all generate check test bench bench-go fuzz example consistency

all: check test

## generate: regenerate every checked-in generated file
generate:
	$(GO) run ./cmd/cachegen $(GEN_DIRS)

## check: fail when a checked-in generated file is stale, missing or orphaned
check:
	$(GO) run ./cmd/cachegen -check $(GEN_DIRS)

INTEGRATION_VARS = CACHEGEN_PG_DSN CACHEGEN_MYSQL_DSN CACHEGEN_REDIS_ADDR CACHEGEN_REDIS_CLUSTER CACHEGEN_MEMCACHED_ADDR

## test: vet and run every test, with the race detector; integration suites
## run for the servers named in $(INTEGRATION_VARS)
test:
	@for v in $(INTEGRATION_VARS); do \
		[ -n "$$(printenv $$v)" ] || echo "make test: $$v is not set: its integration suite is skipped (.ci/run sets them all)"; \
	done
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

## bench: the side-by-side suite (bench/, a module of its own so that only it
## depends on go-zero): direct query, raw Redis GET, cachegen, go-zero, on
## PostgreSQL + Redis; prints "bench: name=value" lines with the ratios
bench:
	cd bench && $(GO) run . -pg "$${CACHEGEN_PG_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" -redis "$${CACHEGEN_REDIS_ADDR:-127.0.0.1:6379}"

## bench-go: the go test benchmarks of the main module
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./runtime/... ./examples/...

## fuzz: a short run of each fuzz target beyond its checked-in corpus
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecoder -fuzztime 30s ./runtime/wire
	$(GO) test -run '^$$' -fuzz FuzzKeyGroupsInjective -fuzztime 30s ./runtime

## example: run the blog example (SQLite + in-memory store, no server)
example:
	$(GO) run ./examples/blog
