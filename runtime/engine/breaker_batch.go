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
	b.batch(len(ops), func(i int) { ops[i].Entry, ops[i].Err = store.Entry{}, errBreakerOpen },
		func() { store.Batched(b.inner).GetMany(ctx, ops) },
		func(i int) error { return ops[i].Err }, nil)
}

func (b *breaker) LeaseMany(ctx context.Context, ops []store.LeaseOp) {
	b.batch(len(ops), func(i int) { ops[i].OK, ops[i].Cur, ops[i].Err = false, store.Entry{}, errBreakerOpen },
		func() { store.Batched(b.inner).LeaseMany(ctx, ops) },
		func(i int) error { return ops[i].Err }, nil)
}

func (b *breaker) FillMany(ctx context.Context, ops []store.FillOp) {
	b.batch(len(ops), func(i int) { ops[i].OK, ops[i].Err = false, errBreakerOpen },
		func() { store.Batched(b.inner).FillMany(ctx, ops) },
		func(i int) error { return ops[i].Err }, nil)
}

func (b *breaker) ReleaseMany(ctx context.Context, ops []store.ReleaseOp) {
	b.batch(len(ops), func(i int) { ops[i].Err = errBreakerOpen },
		func() { store.Batched(b.inner).ReleaseMany(ctx, ops) },
		func(i int) error { return ops[i].Err }, nil)
}

func (b *breaker) LockMany(ctx context.Context, ops []store.LockOp) {
	b.batch(len(ops), func(i int) { ops[i].Err = errBreakerOpen },
		func() { store.Batched(b.inner).LockMany(ctx, ops) },
		func(i int) error { return ops[i].Err }, ctx)
}

func (b *breaker) UnlockMany(ctx context.Context, ops []store.UnlockOp) {
	b.batch(len(ops), func(i int) { ops[i].Err = errBreakerOpen },
		func() { store.Batched(b.inner).UnlockMany(ctx, ops) },
		func(i int) error { return ops[i].Err }, ctx)
}

// batch passes a batch of n ops through the breaker: while it is open,
// fail(i) fails each op and the store is not called; otherwise call runs
// the batch and the breaker learns its outcome (batchErr). phase, for a
// write phase, is its context: a phase that ran out of it counts as a
// store timeout (phaseErr).
func (b *breaker) batch(n int, fail func(i int), call func(), errOf func(i int) error, phase context.Context) {
	if n == 0 {
		return
	}
	if !b.allow() {
		for i := range n {
			fail(i)
		}
		return
	}
	call()
	err := batchErr(n, errOf)
	if phase != nil {
		err = phaseErr(phase, err)
	}
	b.done(err)
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
