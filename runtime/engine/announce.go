package engine

import (
	"context"
	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.PhaseAnnouncer = (*breaker)(nil)

// The breaker is a store.PhaseAnnouncer whatever its store: a store that cannot
// carry the bus's message gets the phase, and the message follows on the
// bus itself. While the breaker is open the phase fails at once and the
// bus still publishes: the near caches of other processes must drop their
// copies whether or not the store answers.

func (b *breaker) CarriesBus(bus store.Bus) bool {
	pa, ok := b.inner.(store.PhaseAnnouncer)
	return ok && pa.CarriesBus(bus)
}

func (b *breaker) LockManyAnnounce(ctx context.Context, ops []store.LockOp, bus store.Bus, keys []string) error {
	if len(ops) == 0 || !b.CarriesBus(bus) {
		b.LockMany(ctx, ops)
		return bus.Publish(ctx, keys)
	}
	if !b.allow() {
		for i := range ops {
			ops[i].Err = errBreakerOpen
		}
		return bus.Publish(ctx, keys)
	}
	err := b.inner.(store.PhaseAnnouncer).LockManyAnnounce(ctx, ops, bus, keys)
	b.done(phaseErr(ctx, batchErr(len(ops), func(i int) error { return ops[i].Err })))
	return err
}

func (b *breaker) UnlockManyAnnounce(ctx context.Context, ops []store.UnlockOp, bus store.Bus, keys []string) error {
	if len(ops) == 0 || !b.CarriesBus(bus) {
		b.UnlockMany(ctx, ops)
		return bus.Publish(ctx, keys)
	}
	if !b.allow() {
		for i := range ops {
			ops[i].Err = errBreakerOpen
		}
		return bus.Publish(ctx, keys)
	}
	err := b.inner.(store.PhaseAnnouncer).UnlockManyAnnounce(ctx, ops, bus, keys)
	b.done(phaseErr(ctx, batchErr(len(ops), func(i int) error { return ops[i].Err })))
	return err
}
