package consistency

import (
	"context"
	"fmt"
	"sync"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/store"
)

// traceStore and weakBatchStore are engine.BatchStores, so that batch
// reads (GetBy…s and the batch loaders) and a write's lock and release
// phases reach the store below as batches: the Redis store's pipelined
// scripts, and the negative control weakBatchStore. A wrapper that fell
// short of the interface would quietly turn every batch into single calls.
var (
	_ store.BatchStore = (*traceStore)(nil)
	_ store.BatchStore = (*weakBatchStore)(nil)
)

func (s *traceStore) GetMany(ctx context.Context, ops []store.GetOp) {
	for i := range ops {
		s.keys.add(ops[i].Key)
	}
	store.Batched(s.inner).GetMany(ctx, ops)
}

func (s *traceStore) LeaseMany(ctx context.Context, ops []store.LeaseOp) {
	store.Batched(s.inner).LeaseMany(ctx, ops)
}

func (s *traceStore) FillMany(ctx context.Context, ops []store.FillOp) {
	store.Batched(s.inner).FillMany(ctx, ops)
}

func (s *traceStore) ReleaseMany(ctx context.Context, ops []store.ReleaseOp) {
	store.Batched(s.inner).ReleaseMany(ctx, ops)
}

// LockMany records each of a write's locks, as Lock does.
func (s *traceStore) LockMany(ctx context.Context, ops []store.LockOp) {
	store.Batched(s.inner).LockMany(ctx, ops)
	if t := traceOf(ctx); t != nil {
		for i := range ops {
			t.Record(false, ops[i].Key, ops[i].Err)
		}
	}
}

// UnlockMany records each of a write's releases, as Unlock does.
func (s *traceStore) UnlockMany(ctx context.Context, ops []store.UnlockOp) {
	store.Batched(s.inner).UnlockMany(ctx, ops)
	if t := traceOf(ctx); t != nil {
		for i := range ops {
			t.Record(true, ops[i].Key, ops[i].Err)
		}
	}
}

// The negative controls of the batch read path (Config.WeakBatch). Single
// reads and writes keep the whole protocol; only the batch calls, which
// GetBy…s and the batch loaders make, are weakened.
const (
	// WeakBatchFill: a batch lease always succeeds without storing
	// anything and a batch fill is a plain set, over a writer's lock too,
	// so a batch read that read the database before a write committed
	// writes the old row back after the write's invalidation.
	WeakBatchFill = "fill"
	// WeakBatchSnapshot: a batch read answers from the last value it saw
	// under each key, whatever replaced or invalidated it since: the batch
	// path serves a stale snapshot while the single reads stay right.
	WeakBatchSnapshot = "snapshot"
)

func checkWeakBatch(mode string) error {
	switch mode {
	case "", WeakBatchFill, WeakBatchSnapshot:
		return nil
	}
	return fmt.Errorf("-weak-batch %q: want %s or %s", mode, WeakBatchFill, WeakBatchSnapshot)
}

// weakBatchStore weakens the batch calls of the store below it (see
// WeakBatchFill and WeakBatchSnapshot); its single-key calls are the
// store's own.
type weakBatchStore struct {
	runtime.Store
	mode string
	mu   sync.Mutex
	seen map[string]store.Entry // snapshot: the last value batch reads saw under each key
}

func (s *weakBatchStore) GetMany(ctx context.Context, ops []store.GetOp) {
	store.Batched(s.Store).GetMany(ctx, ops)
	if s.mode != WeakBatchSnapshot {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]store.Entry{}
	}
	for i := range ops {
		op := &ops[i]
		if op.Err != nil {
			continue
		}
		if op.Entry.Kind == store.CachedRow {
			s.seen[op.Key] = store.Entry{Kind: store.CachedRow, Value: append([]byte(nil), op.Entry.Value...)}
		} else if old, ok := s.seen[op.Key]; ok {
			op.Entry = old
		}
	}
}

func (s *weakBatchStore) LeaseMany(ctx context.Context, ops []store.LeaseOp) {
	if s.mode != WeakBatchFill {
		store.Batched(s.Store).LeaseMany(ctx, ops)
		return
	}
	for i := range ops {
		ops[i].OK, ops[i].Cur, ops[i].Err = true, store.Entry{}, nil
	}
}

func (s *weakBatchStore) FillMany(ctx context.Context, ops []store.FillOp) {
	if s.mode != WeakBatchFill {
		store.Batched(s.Store).FillMany(ctx, ops)
		return
	}
	for i := range ops {
		op := &ops[i]
		op.OK, op.Err = weakStore{s.Store}.Fill(ctx, op.Key, op.Token, op.Entry, op.TTL)
	}
}

func (s *weakBatchStore) ReleaseMany(ctx context.Context, ops []store.ReleaseOp) {
	if s.mode != WeakBatchFill {
		store.Batched(s.Store).ReleaseMany(ctx, ops)
	}
}

// A write's phases keep the whole protocol.

func (s *weakBatchStore) LockMany(ctx context.Context, ops []store.LockOp) {
	store.Batched(s.Store).LockMany(ctx, ops)
}

func (s *weakBatchStore) UnlockMany(ctx context.Context, ops []store.UnlockOp) {
	store.Batched(s.Store).UnlockMany(ctx, ops)
}
