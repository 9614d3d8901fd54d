package store

import (
	"context"
	"time"
)

// BatchStore is a Store that also acts on many keys in one round trip. It is
// optional: the runtime batches through it when a store implements it, and
// otherwise calls the single-key methods one key at a time (see Batched).
//
// Each operation of a batch is the Store method of the same name applied to
// one key, with that method's contract and its atomicity on the key; nothing
// is atomic across keys (on a Redis Cluster they live on different nodes).
// Results are written into the ops, so a failure on one key (a node that
// does not answer) fails that op and no other. The runtime never names a
// key twice in one batch, so the ops of a batch may take effect in any
// order. runtime/storetest checks every BatchStore against this contract.
type BatchStore interface {
	Store
	// GetMany does Get for each op.
	GetMany(ctx context.Context, ops []GetOp)
	// LeaseMany does Lease for each op.
	LeaseMany(ctx context.Context, ops []LeaseOp)
	// FillMany does Fill for each op.
	FillMany(ctx context.Context, ops []FillOp)
	// ReleaseMany does Release for each op.
	ReleaseMany(ctx context.Context, ops []ReleaseOp)
	// LockMany does Lock for each op: a write's locks, all in one round
	// trip where the store can.
	LockMany(ctx context.Context, ops []LockOp)
	// UnlockMany does Unlock for each op: a write's releases after commit.
	UnlockMany(ctx context.Context, ops []UnlockOp)
}

// GetOp is one Get of a batch: Key in, Entry and Err out.
type GetOp struct {
	Key   string
	Entry Entry // what Key holds; the Value bytes must not be modified
	Err   error
}

// LeaseOp is one Lease of a batch: Key, Token and TTL in, OK, Cur and Err
// out.
type LeaseOp struct {
	Key   string
	Token string
	TTL   time.Duration
	OK    bool  // the lease was taken
	Cur   Entry // when it was not: what Key holds instead
	Err   error
}

// FillOp is one Fill of a batch: Key, Token, Entry and TTL in, OK and Err
// out.
type FillOp struct {
	Key   string
	Token string
	Entry Entry // Kind CachedRow or CachedNotFound; the store copies the bytes
	TTL   time.Duration
	OK    bool // the lease was still there and was replaced by Entry
	Err   error
}

// ReleaseOp is one Release of a batch: Key and Token in, Err out.
type ReleaseOp struct {
	Key   string
	Token string
	Err   error
}

// LockOp is one Lock of a batch: Key and TTL in, Err out.
type LockOp struct {
	Key string
	TTL time.Duration
	Err error
}

// UnlockOp is one Unlock of a batch: Key in, Err out.
type UnlockOp struct {
	Key string
	Err error
}

// Batched returns s as a BatchStore: s itself when it implements one, or
// else an adapter that runs each op with the single-key method, one after
// the other. It returns nil for a nil s.
func Batched(s Store) BatchStore {
	switch b := s.(type) {
	case nil:
		return nil
	case BatchStore:
		return b
	}
	if b, ok := s.(BoardStore); ok {
		return boardOneByOne{oneByOne{s}, b}
	}
	return oneByOne{s}
}

// oneByOne is the BatchStore of a Store without batches: one call per op.
type oneByOne struct{ Store }

// boardOneByOne is oneByOne over a store that holds the build board: the
// adapter must not hide it, or values written through it would carry no
// epoch and every other runtime would read them as another build's.
type boardOneByOne struct {
	oneByOne
	BoardStore
}

func (s oneByOne) GetMany(ctx context.Context, ops []GetOp) {
	for i := range ops {
		op := &ops[i]
		op.Entry, op.Err = s.Get(ctx, op.Key)
	}
}

func (s oneByOne) LeaseMany(ctx context.Context, ops []LeaseOp) {
	for i := range ops {
		op := &ops[i]
		op.OK, op.Cur, op.Err = s.Lease(ctx, op.Key, op.Token, op.TTL)
	}
}

func (s oneByOne) FillMany(ctx context.Context, ops []FillOp) {
	for i := range ops {
		op := &ops[i]
		op.OK, op.Err = s.Fill(ctx, op.Key, op.Token, op.Entry, op.TTL)
	}
}

func (s oneByOne) ReleaseMany(ctx context.Context, ops []ReleaseOp) {
	for i := range ops {
		op := &ops[i]
		op.Err = s.Release(ctx, op.Key, op.Token)
	}
}

// A write's phases end at their deadline: the locks and releases still to
// send once ctx is done fail with its error instead of waiting on a store
// that may not answer.

func (s oneByOne) LockMany(ctx context.Context, ops []LockOp) {
	for i := range ops {
		op := &ops[i]
		if op.Err = ctx.Err(); op.Err == nil {
			op.Err = s.Lock(ctx, op.Key, op.TTL)
		}
	}
}

func (s oneByOne) UnlockMany(ctx context.Context, ops []UnlockOp) {
	for i := range ops {
		op := &ops[i]
		if op.Err = ctx.Err(); op.Err == nil {
			op.Err = s.Unlock(ctx, op.Key)
		}
	}
}
