package engine

import (
	"context"
	"errors"

	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.BatchStore = (*breaker)(nil)

// The breaker passes batches through as one call each: while it is open a
// batch fails every op at once; otherwise it goes to the store (batched if
// the store can) and counts as a success when any op succeeded, as the
// calls of one key at a time would mostly have.

func (b *breaker) GetMany(ctx context.Context, ops []store.GetOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].Entry, ops[i].Err = store.Entry{}, errBreakerOpen
		}
		return
	}
	store.Batched(b.inner).GetMany(ctx, ops)
	b.done(batchErr(len(ops), func(i int) error { return ops[i].Err }))
}

func (b *breaker) LeaseMany(ctx context.Context, ops []store.LeaseOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].OK, ops[i].Cur, ops[i].Err = false, store.Entry{}, errBreakerOpen
		}
		return
	}
	store.Batched(b.inner).LeaseMany(ctx, ops)
	b.done(batchErr(len(ops), func(i int) error { return ops[i].Err }))
}

func (b *breaker) FillMany(ctx context.Context, ops []store.FillOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].OK, ops[i].Err = false, errBreakerOpen
		}
		return
	}
	store.Batched(b.inner).FillMany(ctx, ops)
	b.done(batchErr(len(ops), func(i int) error { return ops[i].Err }))
}

func (b *breaker) ReleaseMany(ctx context.Context, ops []store.ReleaseOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].Err = errBreakerOpen
		}
		return
	}
	store.Batched(b.inner).ReleaseMany(ctx, ops)
	b.done(batchErr(len(ops), func(i int) error { return ops[i].Err }))
}

func (b *breaker) LockMany(ctx context.Context, ops []store.LockOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].Err = errBreakerOpen
		}
		return
	}
	store.Batched(b.inner).LockMany(ctx, ops)
	b.done(phaseErr(ctx, batchErr(len(ops), func(i int) error { return ops[i].Err })))
}

func (b *breaker) UnlockMany(ctx context.Context, ops []store.UnlockOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].Err = errBreakerOpen
		}
		return
	}
	store.Batched(b.inner).UnlockMany(ctx, ops)
	b.done(phaseErr(ctx, batchErr(len(ops), func(i int) error { return ops[i].Err })))
}

// phaseErr is what a write phase that failed tells the breaker. The
// phase's deadline is the runtime's own (a write never passes its caller's
// context to the store): a store that did not answer within it counts as a
// failing store, so that a dead one opens the breaker and later writes skip
// it at once instead of each waiting out the deadline.
func phaseErr(ctx context.Context, err error) error {
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return phaseTimeout{err}
	}
	return err
}

// phaseTimeout is a write phase's deadline passing: a store timeout.
type phaseTimeout struct{ err error }

func (e phaseTimeout) Error() string {
	return "cachegen: the store did not answer within the write phase's deadline: " + e.err.Error()
}
func (e phaseTimeout) Unwrap() error { return e.err }
func (phaseTimeout) Timeout() bool   { return true }

// batchErr is what a batch of n ops tells the breaker: nil when any op
// succeeded, else the first error.
func batchErr(n int, errOf func(i int) error) error {
	var first error
	for i := range n {
		err := errOf(i)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}
