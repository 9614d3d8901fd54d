package store

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
