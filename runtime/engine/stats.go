package engine

import "sync/atomic"

// Stats counts what a repository did since it was made.
type Stats struct {
	Hits                 uint64 // reads answered by the store (values and cached not-founds)
	NearHits             uint64 // reads answered by the near cache, without asking the store
	Misses               uint64 // reads the store could not answer
	Fills                uint64 // values and not-founds stored after a miss
	LeaseWaits           uint64 // reads that found another reader's lease and waited for it
	LockBypasses         uint64 // reads that found a writer's lock and went to the database
	DBReads              uint64 // read queries sent to the database
	DBWrites             uint64 // write transactions sent to the database
	Invalidations        uint64 // keys invalidated (locked and released around a commit, or discarded), retries included
	InvalidationRetries  uint64 // invalidations sent again after the store failed them
	InvalidationsDropped uint64 // invalidations given up because the retry queue was full
	StoreErrors          uint64 // store calls that failed (reads then fall back to the database)
	CorruptValues        uint64 // cached values that could not be decoded, treated as misses
	OtherSchema          uint64 // values another build of the model (another schema) wrote under a key both use, or filled in an earlier epoch of the build board: misses, discarded and refilled
	IndexUncovered       uint64 // reads by a unique index that another live build does not lock on its writes: read from the database, not cached
	AllOverCap           uint64 // All calls on a table larger than the cap, not cached
	BreakerOpens         uint64 // times repeated store errors opened the circuit breaker
	BreakerCloses        uint64 // times a successful probe closed it again
	BreakerOpen          bool   // the breaker skips the store right now
}

type counters struct {
	hits, misses, fills, leaseWaits, lockBypasses            atomic.Uint64
	nearHits                                                 *atomic.Uint64 // an allocation of its own, which the near cache sums (NearCache.Stats); nil without one
	dbReads, dbWrites                                        atomic.Uint64
	invalidations, invalidationRetries, invalidationsDropped atomic.Uint64
	storeErrors, corruptValues, otherSchema, allOverCap      atomic.Uint64
	breakerOpens, breakerCloses                              atomic.Uint64
	uncovered                                                atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Hits:                 c.hits.Load(),
		NearHits:             c.nearHitCount(),
		Misses:               c.misses.Load(),
		Fills:                c.fills.Load(),
		LeaseWaits:           c.leaseWaits.Load(),
		LockBypasses:         c.lockBypasses.Load(),
		DBReads:              c.dbReads.Load(),
		DBWrites:             c.dbWrites.Load(),
		Invalidations:        c.invalidations.Load(),
		InvalidationRetries:  c.invalidationRetries.Load(),
		InvalidationsDropped: c.invalidationsDropped.Load(),
		StoreErrors:          c.storeErrors.Load(),
		CorruptValues:        c.corruptValues.Load(),
		OtherSchema:          c.otherSchema.Load(),
		IndexUncovered:       c.uncovered.Load(),
		AllOverCap:           c.allOverCap.Load(),
		BreakerOpens:         c.breakerOpens.Load(),
		BreakerCloses:        c.breakerCloses.Load(),
	}
}

func (c *counters) nearHitCount() uint64 {
	if c.nearHits == nil {
		return 0
	}
	return c.nearHits.Load()
}
