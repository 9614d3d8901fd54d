package runtime

import "context"

// PhaseAnnouncer is a BatchStore that can carry a near cache's announcement
// in a write phase's own round trip: the phase's locks (or releases) and
// then the bus message, in that order, in one call. A write with a near
// cache then costs the store two round trips, not four. It is optional:
// without it, or when CarriesBus says no, a phase is followed by its own
// Bus.Publish, as before.
type PhaseAnnouncer interface {
	BatchStore
	// CarriesBus reports whether a message the store sends for bus reaches
	// bus's listeners as bus.Publish would: in the bus's order, so that a
	// probe sent after the call returns comes back after the message. The
	// Redis store says yes for a Bus on its own client (not a Cluster).
	CarriesBus(bus Bus) bool
	// LockManyAnnounce does LockMany(ctx, ops) and then, in the same round
	// trip, publishes keys on bus. It returns the publish's error (a phase
	// that failed as a whole fails both).
	LockManyAnnounce(ctx context.Context, ops []LockOp, bus Bus, keys []string) error
	// UnlockManyAnnounce does UnlockMany(ctx, ops) and then, in the same
	// round trip, publishes keys on bus, returning the publish's error.
	UnlockManyAnnounce(ctx context.Context, ops []UnlockOp, bus Bus, keys []string) error
}

var _ PhaseAnnouncer = (*breaker)(nil)

// The breaker is a PhaseAnnouncer whatever its store: a store that cannot
// carry the bus's message gets the phase, and the message follows on the
// bus itself. While the breaker is open the phase fails at once and the
// bus still publishes: the near caches of other processes must drop their
// copies whether or not the store answers.

func (b *breaker) CarriesBus(bus Bus) bool {
	pa, ok := b.inner.(PhaseAnnouncer)
	return ok && pa.CarriesBus(bus)
}

func (b *breaker) LockManyAnnounce(ctx context.Context, ops []LockOp, bus Bus, keys []string) error {
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
	err := b.inner.(PhaseAnnouncer).LockManyAnnounce(ctx, ops, bus, keys)
	b.done(phaseErr(ctx, batchErr(len(ops), func(i int) error { return ops[i].Err })))
	return err
}

func (b *breaker) UnlockManyAnnounce(ctx context.Context, ops []UnlockOp, bus Bus, keys []string) error {
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
	err := b.inner.(PhaseAnnouncer).UnlockManyAnnounce(ctx, ops, bus, keys)
	b.done(phaseErr(ctx, batchErr(len(ops), func(i int) error { return ops[i].Err })))
	return err
}
