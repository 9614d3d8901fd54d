package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/cachegen/cachegen/runtime/store"
)

// NearOptions configures a NearCache. Zero fields take the defaults; a
// negative one makes NewNearCache fail.
type NearOptions struct {
	// MaxStaleness bounds how long after a write is acknowledged another
	// process may still read the row it replaced from its near cache
	// (default 100ms). Entries are served only while the bus has proved,
	// within this window, that it delivers every invalidation; otherwise
	// reads go to the store.
	MaxStaleness time.Duration
	// MaxBytes bounds the memory held by entries, keys included (default
	// 64 MiB).
	MaxBytes int
	// TTL bounds how long an entry lives (default one minute): the
	// staleness left when the bus refuses a write's announcements, until
	// the retry queue delivers them. Keep it at or below the repositories'
	// TTL.
	TTL time.Duration
}

// NearCache is an in-process tier in front of a shared store: rows read
// from the store, or filled into it, are kept here in their cached form, so
// that reading them again costs a lookup and a decode rather than a round
// trip. One NearCache serves every repository of a process (pass it with
// WithNearCache); Close stops it.
//
// It stays correct across processes through its Bus. A write announces its
// keys on the bus after it locks them in the store and before it commits,
// and again after it releases them (for a lock the store lost meanwhile);
// every process drops its copies when a message arrives, and while a key
// is locked the store answers no process with a value to keep. A process
// serves an entry only while a probe it sent at most MaxStaleness ago has
// come back: the bus delivers in order, so every invalidation published
// before that probe has been applied. A read that starts after a write was
// acknowledged therefore sees it, or runs less than MaxStaleness after the
// acknowledgement. Entries of the writing process itself are dropped before
// the write returns.
type NearCache struct {
	bus        store.Bus
	opts       NearOptions
	cache      *otter.Cache[string, *nearEntry]
	seed       maphash.Seed
	gens       [nearGenSlots]atomic.Uint64 // per key hash: bumped when a key is dropped
	epoch      atomic.Uint64               // bumped when every entry is dropped
	freshUntil atomic.Int64                // entries may be served until this monoNow reading
	hits       hitCounts
	drops      atomic.Uint64
	losses     atomic.Uint64
	cancel     context.CancelFunc
	done       chan struct{}
	closeOnce  sync.Once
}

const nearGenSlots = 1 << 12

// notFoundEntry is what a cached not-found is kept as: no row encodes to
// zero bytes.
var notFoundEntry = []byte{}

// nearEntry is a kept value and when it was kept; never changed once kept,
// and held by pointer, so that a hit copies a word rather than the entry
// through otter's calls. The TTL is checked here, on the clock reading the
// freshness check takes anyway, rather than by otter, which would read the
// clock a second time on every hit.
type nearEntry struct {
	b   []byte
	row any   // for a Flat model, the decoded row (a *T nobody writes to); else nil
	at  int64 // the monoNow reading when it was kept
}

// NewNearCache starts a near cache listening on bus. Its entries are served
// once the bus has answered its first probe.
func NewNearCache(bus store.Bus, opts NearOptions) (*NearCache, error) {
	if bus == nil {
		return nil, errors.New("cachegen: NewNearCache: nil Bus")
	}
	switch {
	case opts.MaxStaleness < 0:
		return nil, fmt.Errorf("cachegen: NewNearCache: NearOptions.MaxStaleness %v: want a positive duration, or 0 for the default", opts.MaxStaleness)
	case opts.MaxBytes < 0:
		return nil, fmt.Errorf("cachegen: NewNearCache: NearOptions.MaxBytes %d: want a positive size, or 0 for the default", opts.MaxBytes)
	case opts.TTL < 0:
		return nil, fmt.Errorf("cachegen: NewNearCache: NearOptions.TTL %v: want a positive duration, or 0 for the default", opts.TTL)
	}
	if opts.MaxStaleness == 0 {
		opts.MaxStaleness = 100 * time.Millisecond
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 64 << 20
	}
	if opts.TTL == 0 {
		opts.TTL = time.Minute
	}
	// Entries past their TTL are never served; they leave when evicted
	// for room, or when their key is written again.
	cache, err := otter.New(&otter.Options[string, *nearEntry]{
		MaximumWeight: uint64(opts.MaxBytes),
		Weigher:       func(k string, v *nearEntry) uint32 { return uint32(len(k) + len(v.b) + 80) },
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &NearCache{bus: bus, opts: opts, cache: cache, seed: maphash.MakeSeed(),
		cancel: cancel, done: make(chan struct{})}
	// Not fresh until the first probe comes back, whatever the clock reads
	// (a test's bubble clock can read before monoBase).
	n.freshUntil.Store(math.MinInt64)
	go func() {
		defer close(n.done)
		_ = bus.Listen(ctx, opts.MaxStaleness/4, nearListener{n})
	}()
	return n, nil
}

// Close stops listening and drops every entry; repositories using the near
// cache go on reading the store.
func (n *NearCache) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		<-n.done
		n.freshUntil.Store(math.MinInt64)
		n.dropAll()
	})
	return nil
}

// Clear drops every entry this process holds, as after a lost message.
// Other processes keep theirs: for a change made behind the repositories'
// back, use the tables' Invalidate… methods, which announce on the bus.
func (n *NearCache) Clear() {
	n.losses.Add(1)
	n.dropAll()
}

// NearStats counts what a near cache did.
type NearStats struct {
	Hits    uint64 // reads it answered (the sum of its tables' Stats().NearHits, those gone included)
	Entries int    // entries it holds (an estimate)
	Drops   uint64 // entries dropped by invalidations
	Losses  uint64 // times everything was dropped: the bus may have missed messages, or Clear
	Fresh   bool   // the bus has proved delivery recently enough for entries to be served
}

// Stats returns the near cache's counters.
func (n *NearCache) Stats() NearStats {
	return NearStats{Hits: n.hits.total(), Entries: n.cache.EstimatedSize(), Drops: n.drops.Load(),
		Losses: n.losses.Load(), Fresh: n.fresh()}
}

// Ready waits until the bus has answered a probe, so that entries are
// served, or until ctx ends (its error is returned then). Repositories work
// either way; a process calls it at startup to use the tier from its first
// read, and to learn early that its bus cannot reach Redis.
func (n *NearCache) Ready(ctx context.Context) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !n.fresh() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cachegen: near cache: no answer on the bus: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// fresh reports whether entries may be served now.
func (n *NearCache) fresh() bool { return monoNow() < n.freshUntil.Load() }

// get returns what is kept under key: the sealed value as the store held
// it (notFoundEntry for a cached not-found) and, for a Flat model, the
// decoded row. now is a monoNow reading the caller took after everything
// that may block (the hit path reads the clock once, for this and for the
// build board). It does not keep key.
func (n *NearCache) get(key string, now int64) (*nearEntry, bool) {
	if now >= n.freshUntil.Load() {
		return nil, false
	}
	e, ok := n.cache.GetIfPresent(key)
	if !ok || now-e.at >= int64(n.opts.TTL) {
		return nil, false
	}
	return e, true
}

// hitCounts are the near-hit counters of the tables on a near cache: each
// hit is counted once, by its table, rather than again on a counter every
// table's hits share.
type hitCounts struct {
	mu      sync.Mutex
	live    map[*atomic.Uint64]struct{}
	retired uint64 // the counts of the tables gone
}

// countHits adds a table's counter to the sum.
func (n *NearCache) countHits(c *atomic.Uint64) {
	n.hits.mu.Lock()
	defer n.hits.mu.Unlock()
	if n.hits.live == nil {
		n.hits.live = map[*atomic.Uint64]struct{}{}
	}
	n.hits.live[c] = struct{}{}
}

// retireHits keeps the count of a table gone, and forgets its counter.
func (n *NearCache) retireHits(c *atomic.Uint64) {
	n.hits.mu.Lock()
	defer n.hits.mu.Unlock()
	delete(n.hits.live, c)
	n.hits.retired += c.Load()
}

func (h *hitCounts) total() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	sum := h.retired
	for c := range h.live {
		sum += c.Load()
	}
	return sum
}

// monoBase is the origin of the monotonic readings the read path compares:
// near entries' ages, the near cache's freshness and the build view's
// deadlines, so that one reading answers them all.
var monoBase = time.Now()

// monoNow reads the monotonic clock, as nanoseconds since monoBase.
func monoNow() int64 { return int64(time.Since(monoBase)) }

// monoOf is t on monoNow's scale, t a time.Now reading (or one derived
// from it with Add): Sub then compares the monotonic readings.
func monoOf(t time.Time) int64 { return int64(t.Sub(monoBase)) }

// nearGen is the state of a key's invalidations when a read began: an entry
// read then may be kept only if no invalidation came since.
type nearGen struct{ slot, epoch uint64 }

func (n *NearCache) slot(key string) *atomic.Uint64 {
	return &n.gens[maphash.String(n.seed, key)&(nearGenSlots-1)]
}

// gen is taken before the store is asked.
func (n *NearCache) gen(key string) nearGen {
	return nearGen{slot: n.slot(key).Load(), epoch: n.epoch.Load()}
}

// put keeps b (a sealed value, or notFoundEntry) and row under key if no
// invalidation of key came since g was taken. An invalidation bumps the
// generation before it drops the entry, so one that races with the put
// either finds the entry and drops it, or is seen by the check after it.
func (n *NearCache) put(key string, g nearGen, b []byte, row any) {
	if n.gen(key) != g {
		return
	}
	n.cache.Set(key, &nearEntry{b: b, row: row, at: monoNow()})
	if n.gen(key) != g {
		n.cache.Invalidate(key)
	}
}

// drop forgets key in this process; a key ending in '*' stands for every
// key it prefixes (a raw '*' never appears in a key's values: it is
// escaped).
func (n *NearCache) drop(key string) {
	if prefix, ok := strings.CutSuffix(key, "*"); ok {
		n.dropPrefix(prefix)
		return
	}
	n.slot(key).Add(1)
	if _, ok := n.cache.Invalidate(key); ok {
		n.drops.Add(1)
	}
}

// dropPrefix forgets every key with prefix: for InvalidateAll, which lists
// the keys the store holds, not the copies processes keep.
func (n *NearCache) dropPrefix(prefix string) {
	n.epoch.Add(1)
	for k := range n.cache.Keys() {
		if strings.HasPrefix(k, prefix) {
			if _, ok := n.cache.Invalidate(k); ok {
				n.drops.Add(1)
			}
		}
	}
}

// dropAll forgets every entry.
func (n *NearCache) dropAll() {
	n.epoch.Add(1)
	n.cache.InvalidateAll()
}

// announce drops keys here and publishes them to the other processes.
func (n *NearCache) announce(ctx context.Context, keys []string) error {
	n.dropKeys(keys)
	return n.bus.Publish(ctx, keys)
}

// dropKeys forgets keys in this process only: a write's phases drop them
// here and leave the publishing to the store's round trip
// (store.PhaseAnnouncer).
func (n *NearCache) dropKeys(keys []string) {
	for _, k := range keys {
		n.drop(k)
	}
}

// nearListener is how the bus reaches a NearCache, without exporting the
// handler methods on it.
type nearListener struct{ n *NearCache }

func (l nearListener) Invalidated(keys []string) {
	for _, k := range keys {
		l.n.drop(k)
	}
}

func (l nearListener) Synced(sent time.Time) {
	until := monoOf(sent) + int64(l.n.opts.MaxStaleness)
	for {
		cur := l.n.freshUntil.Load()
		if until <= cur || l.n.freshUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

func (l nearListener) Lost() { l.n.Clear() }

// WithNearCache puts the near cache n in front of the repository's store.
// All processes sharing the store must announce their writes on the same
// bus, each through a near cache of its own.
func WithNearCache(n *NearCache) Option {
	return func(o *options) {
		if n == nil {
			o.fail("WithNearCache", "nil", "want a *NearCache")
			return
		}
		o.near = n
	}
}
