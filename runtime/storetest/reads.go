package storetest

import (
	"context"
	"sync/atomic"

	"github.com/cachegen/cachegen/runtime/store"
)

// ReadCounter counts the reads a BatchStore serves, one per round trip: a
// Get or a GetMany (whatever its length) adds one to Reads. Tests that
// claim "one store read" assert on it.
type ReadCounter struct {
	store.BatchStore
	Reads atomic.Int64
}

// Get implements store.Store.
func (s *ReadCounter) Get(ctx context.Context, key string) (store.Entry, error) {
	s.Reads.Add(1)
	return s.BatchStore.Get(ctx, key)
}

// GetMany implements store.BatchStore.
func (s *ReadCounter) GetMany(ctx context.Context, ops []store.GetOp) {
	s.Reads.Add(1)
	s.BatchStore.GetMany(ctx, ops)
}
