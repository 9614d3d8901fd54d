package consistency

import (
	"context"
	"errors"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/store"
)

// boardTraceStore is a traceStore over a store that holds the build board
// (store.BoardStore): the runtimes of both builds announce themselves on
// it, so each locks the keys of the other build's indexes it can compute.
type boardTraceStore struct {
	*traceStore
	board store.BoardStore
}

func (s boardTraceStore) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func([]byte) ([]byte, error)) error {
	return s.board.UpdateBoard(ctx, key, keep, fn)
}

// tracing wraps lower in a traceStore that keeps its build board, if it
// has one.
func tracing(lower runtime.Store, keys *keySet) runtime.Store {
	ts := &traceStore{inner: lower, keys: keys}
	if b, ok := lower.(store.BoardStore); ok {
		return boardTraceStore{traceStore: ts, board: b}
	}
	return ts
}

// UpdateBoard passes the build board through to the crashing writer's
// runtime, so that it locks the other build's indexes like the runtime it
// stands for.
func (s crashStore) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func([]byte) ([]byte, error)) error {
	if b, ok := s.Store.(store.BoardStore); ok {
		return b.UpdateBoard(ctx, key, keep, fn)
	}
	return errNoBoard
}

var errNoBoard = errors.New("consistency: the store holds no build board")

// UpdateBoard passes the build board through the memory store's fault
// wrapper, with the link's faults but for late delivery. Without it (and
// memShared's) -two-builds on memory ran with no board, and a read by the
// second build's own index could miss a first-build write
// (TestRunTwoBuilds, seen in CI: stale_after_ack=2).
func (f *memFault) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func([]byte) ([]byte, error)) error {
	b, ok := f.inner.(store.BoardStore)
	if !ok {
		return errNoBoard
	}
	// Never a late delivery (linkSlow, linkDrop): fn belongs to the
	// caller, which must not see it run after the call returned.
	switch f.mode.Load() {
	case linkDown:
		return errStoreDown
	case linkBlocked:
		sleep(ctx, f.timeout)
		return timeoutError{}
	}
	return b.UpdateBoard(ctx, key, keep, fn)
}
