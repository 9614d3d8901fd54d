package runtime

import "context"

var _ BatchStore = (*breaker)(nil)

// The breaker passes batches through as one call each: while it is open a
// batch fails every op at once; otherwise it goes to the store (batched if
// the store can) and counts as a success when any op succeeded, as the
// calls of one key at a time would mostly have.

func (b *breaker) GetMany(ctx context.Context, ops []GetOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].Entry, ops[i].Err = Entry{}, errBreakerOpen
		}
		return
	}
	Batch(b.inner).GetMany(ctx, ops)
	b.done(batchErr(len(ops), func(i int) error { return ops[i].Err }))
}

func (b *breaker) LeaseMany(ctx context.Context, ops []LeaseOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].OK, ops[i].Cur, ops[i].Err = false, Entry{}, errBreakerOpen
		}
		return
	}
	Batch(b.inner).LeaseMany(ctx, ops)
	b.done(batchErr(len(ops), func(i int) error { return ops[i].Err }))
}

func (b *breaker) FillMany(ctx context.Context, ops []FillOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].OK, ops[i].Err = false, errBreakerOpen
		}
		return
	}
	Batch(b.inner).FillMany(ctx, ops)
	b.done(batchErr(len(ops), func(i int) error { return ops[i].Err }))
}

func (b *breaker) ReleaseMany(ctx context.Context, ops []ReleaseOp) {
	if len(ops) == 0 {
		return
	}
	if !b.allow() {
		for i := range ops {
			ops[i].Err = errBreakerOpen
		}
		return
	}
	Batch(b.inner).ReleaseMany(ctx, ops)
	b.done(batchErr(len(ops), func(i int) error { return ops[i].Err }))
}

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
