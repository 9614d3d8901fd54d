package memory

import (
	"context"

	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.BatchStore = (*Store)(nil)

// In process a batch costs no round trip: each op is the single-key method,
// in order, atomic on its key as that method is.

// GetMany does Get for each op.
func (s *Store) GetMany(ctx context.Context, ops []store.GetOp) {
	for i := range ops {
		op := &ops[i]
		op.Entry, op.Err = s.Get(ctx, op.Key)
	}
}

// LeaseMany does Lease for each op.
func (s *Store) LeaseMany(ctx context.Context, ops []store.LeaseOp) {
	for i := range ops {
		op := &ops[i]
		op.OK, op.Cur, op.Err = s.Lease(ctx, op.Key, op.Token, op.TTL)
	}
}

// FillMany does Fill for each op.
func (s *Store) FillMany(ctx context.Context, ops []store.FillOp) {
	for i := range ops {
		op := &ops[i]
		op.OK, op.Err = s.Fill(ctx, op.Key, op.Token, op.Entry, op.TTL)
	}
}

// ReleaseMany does Release for each op.
func (s *Store) ReleaseMany(ctx context.Context, ops []store.ReleaseOp) {
	for i := range ops {
		op := &ops[i]
		op.Err = s.Release(ctx, op.Key, op.Token)
	}
}

// LockMany does Lock for each op.
func (s *Store) LockMany(ctx context.Context, ops []store.LockOp) {
	for i := range ops {
		op := &ops[i]
		op.Err = s.Lock(ctx, op.Key, op.TTL)
	}
}

// UnlockMany does Unlock for each op.
func (s *Store) UnlockMany(ctx context.Context, ops []store.UnlockOp) {
	for i := range ops {
		op := &ops[i]
		op.Err = s.Unlock(ctx, op.Key)
	}
}
