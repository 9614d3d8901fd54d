// Package memory is the in-process store.Store, on an otter cache bounded
// by the bytes it holds.
package memory

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/cachegen/cachegen/runtime/store"
)

// Options configures a Store.
type Options struct {
	// MaxBytes bounds the bytes of cached values (keys + values, roughly); 0 means 64 MiB.
	MaxBytes uint64
}

const (
	defaultMaxBytes = 64 << 20
	minMaxBytes     = 1 << 10
	// entryOverhead is the rough cost of an entry beyond its key and value.
	entryOverhead = 64
	// maxTTL caps a TTL so deadlines cannot overflow; it is forever enough.
	maxTTL = 100 * 365 * 24 * time.Hour
	// reclaimGrace delays otter's own expiry past the entry's deadline, so
	// that otter never hides an entry early: the deadline alone decides.
	reclaimGrace = time.Second
)

// Store is a store.Store held in process memory. Every operation is atomic
// on its key. Values and not-founds are evicted when the store exceeds
// MaxBytes; leases and locks never are, so eviction cannot break the
// protocol. Each method returns ctx.Err() without acting if ctx is already
// done, as a networked store would; otherwise it never fails on a valid
// call.
type Store struct {
	c      *otter.Cache[string, *item]
	epoch  time.Time // origin of the monotonic clock the deadlines are read on
	boards boards    // the tables' build boards (board.go)
}

var _ store.Store = (*Store)(nil)

// item is what the cache holds under a key. It is never modified once
// stored, so readers need no lock.
type item struct {
	kind     store.Kind // Value, NotFound, Leased or Locked
	value    []byte     // Value: owned by the store
	token    string     // Leased
	locks    int        // Locked
	deadline int64      // nanoseconds since Store.epoch; at or past it the item is absent
}

// New returns an empty Store. It rejects a MaxBytes below 1 KiB.
func New(opts Options) (*Store, error) {
	maxBytes := opts.MaxBytes
	if maxBytes == 0 {
		maxBytes = defaultMaxBytes
	}
	if maxBytes < minMaxBytes {
		return nil, fmt.Errorf("memory: MaxBytes %d is below the minimum of %d", maxBytes, minMaxBytes)
	}
	s := &Store{epoch: time.Now()}
	c, err := otter.New(&otter.Options[string, *item]{
		MaximumWeight:    maxBytes,
		Weigher:          weigh,
		ExpiryCalculator: expiry{s},
	})
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	s.c = c
	return s, nil
}

// Close stops the cache's periodic clean-up goroutine. The Store still works
// afterwards, but expired entries are then reclaimed only as the cache is
// written to. Close may be called more than once.
func (s *Store) Close() { s.c.StopAllGoroutines() }

// weigh gives leases and locks weight 0, which otter never evicts for size.
func weigh(key string, it *item) uint32 {
	if it.kind == store.Leased || it.kind == store.Locked {
		return 0
	}
	w := uint64(len(key)) + uint64(len(it.value)) + entryOverhead
	return uint32(min(w, math.MaxUint32))
}

// expiry lets otter reclaim an item a little after its deadline.
type expiry struct{ s *Store }

// ExpireAfterCreate implements otter.ExpiryCalculator.
func (e expiry) ExpireAfterCreate(en otter.Entry[string, *item]) time.Duration {
	return e.until(en.Value)
}

// ExpireAfterUpdate implements otter.ExpiryCalculator.
func (e expiry) ExpireAfterUpdate(en otter.Entry[string, *item], _ *item) time.Duration {
	return e.until(en.Value)
}

// ExpireAfterRead implements otter.ExpiryCalculator.
func (e expiry) ExpireAfterRead(en otter.Entry[string, *item]) time.Duration {
	return en.ExpiresAfter() // reads do not extend a TTL
}

// until is how long otter should keep it: to its deadline, plus the grace.
func (e expiry) until(it *item) time.Duration {
	return max(time.Duration(it.deadline-e.s.now()), 0) + reclaimGrace
}

// now reads the monotonic clock, immune to wall-clock jumps.
func (s *Store) now() int64 { return int64(time.Since(s.epoch)) }

// live reports whether it is present and before its deadline.
func live(it *item, found bool, now int64) bool {
	return found && it != nil && now < it.deadline
}

func (it *item) entry() store.Entry {
	return store.Entry{Kind: it.kind, Value: it.value, Token: it.token, Locks: it.locks}
}

// ctxErr returns the error of a done ctx. A nil ctx is tolerated: the store
// does not need one.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}

// check validates the arguments every method that sets a TTL shares.
func check(ctx context.Context, ttl time.Duration) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("memory: ttl %v is not positive", ttl)
	}
	return nil
}

// deadline returns the deadline ttl after now.
func deadline(now int64, ttl time.Duration) int64 {
	return now + int64(min(ttl, maxTTL))
}

// Get returns what key holds. The Value bytes are the store's own: callers
// must not modify them.
func (s *Store) Get(ctx context.Context, key string) (store.Entry, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Entry{}, err
	}
	it, found := s.c.GetIfPresent(key)
	if !live(it, found, s.now()) {
		return store.Entry{}, nil
	}
	return it.entry(), nil
}

// Lease stores a lease with token under key for ttl if the key is absent;
// otherwise it reports what the key holds.
func (s *Store) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	if err := check(ctx, ttl); err != nil {
		return false, store.Entry{}, err
	}
	var ok bool
	var cur store.Entry
	s.c.Compute(key, func(old *item, found bool) (*item, otter.ComputeOp) {
		now := s.now()
		if live(old, found, now) {
			cur = old.entry()
			return old, otter.CancelOp
		}
		ok = true
		return &item{kind: store.Leased, token: token, deadline: deadline(now, ttl)}, otter.WriteOp
	})
	return ok, cur, nil
}

// Fill replaces the lease token on key with e (Kind Value or NotFound) for
// ttl, if the key still holds that lease. It copies e.Value, so the caller
// may reuse the slice.
func (s *Store) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	if err := check(ctx, ttl); err != nil {
		return false, err
	}
	next := &item{kind: e.Kind}
	switch e.Kind {
	case store.CachedRow:
		next.value = append([]byte{}, e.Value...) // non-nil even when empty
	case store.CachedNotFound:
	default:
		return false, fmt.Errorf("memory: Fill with kind %v, want value or not-found", e.Kind)
	}
	var ok bool
	s.c.Compute(key, func(old *item, found bool) (*item, otter.ComputeOp) {
		now := s.now()
		if !live(old, found, now) {
			return nil, drop(found)
		}
		if old.kind != store.Leased || old.token != token {
			return old, otter.CancelOp
		}
		ok = true
		next.deadline = deadline(now, ttl)
		return next, otter.WriteOp
	})
	return ok, nil
}

// Release deletes key if it holds the lease with token.
func (s *Store) Release(ctx context.Context, key, token string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.c.ComputeIfPresent(key, func(old *item) (*item, otter.ComputeOp) {
		if live(old, true, s.now()) && (old.kind != store.Leased || old.token != token) {
			return old, otter.CancelOp
		}
		return nil, otter.InvalidateOp // our lease, or expired
	})
	return nil
}

// Lock adds a writer's lock to key and sets its TTL to ttl.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) error {
	if err := check(ctx, ttl); err != nil {
		return err
	}
	s.c.Compute(key, func(old *item, found bool) (*item, otter.ComputeOp) {
		now := s.now()
		locks := 1
		if live(old, found, now) && old.kind == store.Locked {
			// At the (unreachable) maximum the count stops rather than wraps:
			// wrapping would let one release open a key others still hold.
			locks = min(old.locks, math.MaxInt-1) + 1
		}
		return &item{kind: store.Locked, locks: locks, deadline: deadline(now, ttl)}, otter.WriteOp
	})
	return nil
}

// Unlock removes a writer's lock from key: a count above 1 is decremented,
// keeping the TTL; anything else is deleted.
func (s *Store) Unlock(ctx context.Context, key string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.c.Compute(key, func(old *item, found bool) (*item, otter.ComputeOp) {
		if live(old, found, s.now()) && old.kind == store.Locked && old.locks > 1 {
			return &item{kind: store.Locked, locks: old.locks - 1, deadline: old.deadline}, otter.WriteOp
		}
		return nil, drop(found)
	})
	return nil
}

// Delete removes whatever key holds.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.c.Invalidate(key)
	return nil
}

// drop is the op that leaves a key absent: removing an expired item frees
// its memory now, and an absent key needs nothing.
func drop(found bool) otter.ComputeOp {
	if found {
		return otter.InvalidateOp
	}
	return otter.CancelOp
}
