// The read protocol of a Table: lookups, the near cache, leases, fills and waits, and database loads.

package engine

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cachegen/cachegen/internal/catalog"
	"github.com/cachegen/cachegen/runtime/observe"
	"github.com/cachegen/cachegen/runtime/store"
)

// Get returns the row whose index i (0: the primary key) has the values in
// probe: from the near cache or the store when it holds the row or a
// confirmed miss, otherwise from the database, filling the store under a
// lease.
func (t *Table[T]) Get(ctx context.Context, i int, probe *T) (*T, error) {
	if i < 0 || i >= len(t.spec.Indexes) {
		return nil, fmt.Errorf("cachegen: table %s has no index %d", t.spec.Table, i)
	}
	return t.getKey(ctx, i, t.Key(i, probe), *probe)
}

// KeyPrefix appends the key prefix of index i to b: generated code then
// appends the lookup's values with its mapper's AppendKey and calls GetKey.
func (t *Table[T]) KeyPrefix(b []byte, i int) []byte { return append(b, t.prefixes[i]...) }

// GetKey is Get for generated code, which builds the key itself in a buffer
// of its own (KeyPrefix, then the mapper's AppendKey) and passes the probe
// by value. Neither escapes on a near-cache hit, which allocates only the
// row it returns; a store hit adds the key's copy, and only a miss moves
// the probe to the heap.
func (t *Table[T]) GetKey(ctx context.Context, i int, key []byte, probe T) (*T, error) {
	if i < 0 || i >= len(t.spec.Indexes) {
		return nil, fmt.Errorf("cachegen: table %s has no index %d", t.spec.Table, i)
	}
	if t.near != nil && t.obs == nil && len(key) <= MaxKeyLen && !IsFresh(ctx) {
		if now, ok := t.nearTrusted(ctx, i); ok {
			if row, ok, err := t.nearGet(unsafe.String(unsafe.SliceData(key), len(key)), now); ok {
				return row, err
			}
		}
	}
	return t.getKey(ctx, i, ownKey(key, t.heads[i]), probe)
}

// nearTrusted reports whether index i may be read from the near cache, and
// the monoNow reading its entries are to be judged at: one clock read on
// the hit path, taken again after the build board's slow path, which may
// wait for a heartbeat.
func (t *Table[T]) nearTrusted(ctx context.Context, i int) (now int64, ok bool) {
	now = monoNow()
	if t.builds == nil || t.builds.trustedAt(i, now) {
		return now, true
	}
	if !t.builds.trusts(ctx, i) {
		return 0, false
	}
	return monoNow(), true
}

func (t *Table[T]) getKey(ctx context.Context, i int, key string, probe T) (*T, error) {
	if t.obs == nil {
		row, _, err := t.get(ctx, i, key, probe)
		return row, err
	}
	start := time.Now()
	row, info, err := t.get(ctx, i, key, probe)
	t.observeRead(ctx, t.spec.Indexes[i].Name, start, info, err)
	return row, err
}

// nearGet answers key from the near cache, if the table may read the cache
// and the near cache holds the key, its entries judged at now (a monoNow
// reading). It does not keep key.
func (t *Table[T]) nearGet(key string, now int64) (*T, bool, error) {
	if t.tx != nil || t.retries.isPending(key) {
		return nil, false, nil
	}
	e, ok := t.near.get(key, now)
	if !ok {
		return nil, false, nil
	}
	row, err := t.nearRow(e)
	if err != nil {
		// Another build's entry, or (not expected: the bytes passed their
		// checksum before they were kept) bytes that do not decode. Forget
		// them (under a copy of key: it is not kept) and ask the store.
		t.near.drop(strings.Clone(key))
		return nil, false, nil
	}
	t.stats.nearHits.Add(1)
	if row == nil {
		return nil, true, ErrNotFound
	}
	return row, true, nil
}

// nearRow is a row of the caller's own from a near-cache entry: a copy of
// the kept row for a Flat model, else decoded; nil for a not-found. An
// entry another build of the model kept (one process may run both, as two
// models of one table) is errOtherSchema.
func (t *Table[T]) nearRow(e *nearEntry) (*T, error) {
	if len(e.b) == 0 {
		return nil, nil
	}
	if [5]byte(e.b[:5]) != *t.hdr.Load() {
		return nil, errOtherSchema
	}
	row := new(T)
	if kept, ok := e.row.(*T); ok {
		*row = *kept
		return row, nil
	}
	return row, t.spec.Mapper.Decode(e.b[headerLen:], row)
}

// nearPut keeps what the store holds for key (the sealed value, or nil for
// a not-found) in the near cache, unless key was invalidated since g.
func (t *Table[T]) nearPut(key string, g nearGen, kind store.Kind, sealed []byte) {
	switch kind {
	case store.CachedRow:
		var row any
		if t.spec.Flat {
			r := new(T)
			if t.spec.Mapper.Decode(sealed[headerLen:], r) != nil {
				return
			}
			row = r
		}
		t.near.put(key, g, sealed, row)
	case store.CachedNotFound:
		t.near.put(key, g, notFoundEntry, nil)
	}
}

// readInfo is what an observer learns about a read.
type readInfo struct {
	outcome observe.Outcome
	dbTime  time.Duration
}

func (t *Table[T]) observeRead(ctx context.Context, index string, start time.Time, info readInfo, err error) {
	e := observe.Event{Kind: observe.EventRead, Table: t.spec.Table, Index: index, Outcome: info.outcome, Start: start,
		Duration: time.Since(start), DBTime: info.dbTime}
	if errors.Is(err, ErrNotFound) {
		e.NotFound = true
	} else {
		e.Err = err
	}
	t.obs.emit(ctx, e)
}

func (t *Table[T]) get(ctx context.Context, i int, key string, probe T) (*T, readInfo, error) {
	if !t.cacheable(ctx, key) || !t.indexTrusted(ctx, i) {
		return t.getMiss(ctx, i, key, probe, store.Entry{}, errSkipStore, nearGen{})
	}
	var g nearGen
	if t.near != nil {
		if row, ok, err := t.nearGet(key, monoNow()); ok {
			return row, readInfo{outcome: observe.OutcomeNearHit}, err
		}
		g = t.near.gen(key)
	}
	// The hot path, kept free of closures: a hit is one store call and
	// one decode.
	e, err := t.store.Get(ctx, key)
	if err == nil {
		switch e.Kind {
		case store.CachedRow:
			row := new(T)
			derr := t.decodeRow(key, e.Value, row)
			if derr == nil {
				t.stats.hits.Add(1)
				if t.near != nil {
					t.nearPut(key, g, store.CachedRow, e.Value)
				}
				return row, readInfo{outcome: observe.OutcomeHit}, nil
			}
			t.corrupt(ctx, key, reasonOf(derr), derr)
			t.discard(ctx, key)
			e = store.Entry{}
		case store.CachedNotFound:
			t.stats.hits.Add(1)
			if t.near != nil {
				t.nearPut(key, g, store.CachedNotFound, nil)
			}
			return nil, readInfo{outcome: observe.OutcomeHit}, ErrNotFound
		}
	}
	return t.getMiss(ctx, i, key, probe, e, err, g)
}

// getMiss resolves a lookup the store did not answer: e and err are what
// the store returned (errSkipStore when it was not asked), g the near
// cache's generation of key before it was asked. The probe comes by value
// so that only this path moves it to the heap.
func (t *Table[T]) getMiss(ctx context.Context, i int, key string, probe T, e store.Entry, err error, g nearGen) (*T, readInfo, error) {
	load := func(ctx context.Context) (loaded[T], error) { return t.loadOne(ctx, i, key, &probe) }
	res, err := t.resolve(ctx, key, e, err, load)
	info := readInfo{outcome: res.outcome, dbTime: res.dbTime}
	if err != nil {
		return nil, info, err
	}
	// Keep in the near cache only what the store holds: a value it
	// returned, or one filled into it. A read that bypassed the store (a
	// writer's lock, a lease it could not wait out) may be older than the
	// invalidation that will follow it.
	keep := t.near != nil && (res.outcome == observe.OutcomeHit || !res.filledAt.IsZero())
	if res.kind == store.CachedNotFound {
		if keep {
			t.nearPut(key, g, store.CachedNotFound, nil)
		}
		return nil, info, ErrNotFound
	}
	if res.row != nil { // this caller read the database itself
		if keep {
			t.nearPut(key, g, store.CachedRow, res.data)
		}
		return res.row, info, nil
	}
	row := new(T)
	if derr := t.decodeRow(key, res.data, row); derr != nil {
		t.corrupt(ctx, key, reasonOf(derr), derr)
		t.discard(ctx, key)
		res, err = load(ctx)
		info = readInfo{outcome: observe.OutcomeBypass, dbTime: info.dbTime + res.dbTime}
		if err != nil {
			return nil, info, err
		}
		if res.kind == store.CachedNotFound {
			return nil, info, ErrNotFound
		}
		return res.row, info, nil
	}
	if keep {
		t.nearPut(key, g, store.CachedRow, res.data)
	}
	return row, info, nil
}

// errSkipStore marks a read that does not ask the store: there is none,
// the read is inside a transaction or fresh, or the key awaits an
// invalidation.
var errSkipStore = errors.New("cachegen: store not asked")

// cacheable reports whether a read of key may use the store: there is one,
// the table is not inside a transaction (whose reads must see its own
// uncommitted rows), the caller did not ask for a fresh read (Fresh), and
// no invalidation of the key is still pending (the store may hold what a
// write replaced).
func (t *Table[T]) cacheable(ctx context.Context, key string) bool {
	return t.store != nil && t.tx == nil && !IsFresh(ctx) && !t.retries.isPending(key)
}

// All returns every row of the table ordered by primary key, cached under
// one key that every write to the table invalidates.
func (t *Table[T]) All(ctx context.Context) ([]*T, error) {
	if t.obs == nil {
		rows, _, err := t.all(ctx)
		return pointers(rows), err
	}
	start := time.Now()
	rows, info, err := t.all(ctx)
	t.observeRead(ctx, "all", start, info, err)
	return pointers(rows), err
}

// pointers returns a pointer to each of rows, into rows' own array: lists
// are []*T everywhere (All, the batch reads, the loaders).
func pointers[T any](rows []T) []*T {
	if rows == nil {
		return nil
	}
	out := make([]*T, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	return out
}

func (t *Table[T]) all(ctx context.Context) ([]T, readInfo, error) {
	res, err := t.read(ctx, t.allKey, t.loadAll)
	info := readInfo{outcome: res.outcome, dbTime: res.dbTime}
	if err != nil {
		return nil, info, err
	}
	if res.rows != nil || res.data == nil {
		return res.rows, info, nil
	}
	rows, derr := t.decodeList(res.data)
	if derr != nil {
		t.corrupt(ctx, t.allKey, reasonOf(derr), derr)
		t.discard(ctx, t.allKey)
		res, err = t.loadAll(ctx)
		return res.rows, readInfo{outcome: observe.OutcomeBypass, dbTime: info.dbTime + res.dbTime}, err
	}
	return rows, info, nil
}

// loaded is what a database read produced, in the form the store keeps.
type loaded[T any] struct {
	kind     store.Kind // CachedRow or CachedNotFound
	data     []byte     // Kind CachedRow: header + encoding
	fillable bool       // may be stored under the key it was read for
	row      *T         // loadOne: the row as read
	rows     []T        // loadAll: the rows as read
	outcome  observe.Outcome
	dbTime   time.Duration
	readAt   time.Time // when the read that produced it began (database or store)
	filledAt time.Time // when the fill that stored it began; zero if it was not stored
}

// viaDB runs load and marks its answer with how the cache took part.
func viaDB[T any](ctx context.Context, load func(context.Context) (loaded[T], error), o observe.Outcome) (loaded[T], error) {
	res, err := load(ctx)
	res.outcome = o
	return res, err
}

func (t *Table[T]) read(ctx context.Context, key string, load func(context.Context) (loaded[T], error)) (loaded[T], error) {
	if !t.cacheable(ctx, key) {
		return t.resolve(ctx, key, store.Entry{}, errSkipStore, load)
	}
	e, err := t.store.Get(ctx, key)
	return t.resolve(ctx, key, e, err, load)
}

// resolve turns what the store returned for key (e, or the error err) into
// an answer: a hit, or the database's answer under the protocol.
func (t *Table[T]) resolve(ctx context.Context, key string, e store.Entry, err error, load func(context.Context) (loaded[T], error)) (loaded[T], error) {
	if err != nil {
		if err != errSkipStore {
			t.storeFailed(ctx, "get", err)
		}
		t.stats.misses.Add(1)
		return viaDB(ctx, load, observe.OutcomeBypass)
	}
	switch e.Kind {
	case store.CachedRow:
		if t.valid(key, e.Value) {
			t.stats.hits.Add(1)
			return loaded[T]{kind: store.CachedRow, data: e.Value, outcome: observe.OutcomeHit}, nil
		}
		t.corrupt(ctx, key, reasonOf(t.check(key, e.Value)), nil)
		t.discard(ctx, key)
		e = store.Entry{}
	case store.CachedNotFound:
		t.stats.hits.Add(1)
		return loaded[T]{kind: store.CachedNotFound, outcome: observe.OutcomeHit}, nil
	}
	t.stats.misses.Add(1)
	// One query per key in this process, however many readers miss at once.
	// The fill runs detached from the first caller's cancellation, so its
	// result still serves the others; each caller stops waiting on its own
	// context.
	joined := time.Now()
	ch := t.flight.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.opts.fillTimeout)
		defer cancel()
		res, err := t.fill(fctx, key, e, load)
		// The rows read are the leader's; every caller decodes its own copy.
		res.row, res.rows = nil, nil
		return res, err
	})
	select {
	case <-ctx.Done():
		return loaded[T]{}, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return loaded[T]{}, r.Err
		}
		res := r.Val.(loaded[T])
		if fresh(res, joined) {
			return res, nil
		}
		// Ask again: what the store holds now is fresh, and usually it is
		// the value the fill just stored.
		if e, err := t.store.Get(ctx, key); err == nil {
			switch {
			case e.Kind == store.CachedRow && t.valid(key, e.Value):
				return loaded[T]{kind: store.CachedRow, data: e.Value, outcome: observe.OutcomeHit}, nil
			case e.Kind == store.CachedNotFound:
				return loaded[T]{kind: store.CachedNotFound, outcome: observe.OutcomeHit}, nil
			}
		}
		return viaDB(ctx, load, observe.OutcomeBypass)
	}
}

// fresh reports whether a shared answer may serve a caller that joined the
// fill at joined. A read that began after the caller did sees every write
// acknowledged before it. So does a successful fill that began after the
// caller joined: a write acknowledged before then had locked the key,
// replacing the lease, and the fill's compare-and-set would have failed.
// Otherwise a write may have been acknowledged between the read and the
// join, and the caller reads for itself.
func fresh[T any](res loaded[T], joined time.Time) bool {
	if !res.readAt.Before(joined) {
		return true
	}
	return !res.filledAt.IsZero() && !joined.After(res.filledAt)
}

// fill resolves a miss: take the lease and fill, wait for another reader's
// fill, or bypass a writer's lock.
func (t *Table[T]) fill(ctx context.Context, key string, e store.Entry, load func(context.Context) (loaded[T], error)) (loaded[T], error) {
	waited, leased := false, 0
	var seenAt time.Time // when the store call that returned e began
	for {
		switch e.Kind {
		case store.CachedRow:
			if t.valid(key, e.Value) {
				return loaded[T]{kind: store.CachedRow, data: e.Value, outcome: observe.OutcomeHit, readAt: seenAt}, nil
			}
			t.corrupt(ctx, key, reasonOf(t.check(key, e.Value)), nil)
			t.discard(ctx, key)
			return viaDB(ctx, load, observe.OutcomeBypass)
		case store.CachedNotFound:
			return loaded[T]{kind: store.CachedNotFound, outcome: observe.OutcomeHit, readAt: seenAt}, nil
		case store.Locked:
			t.stats.lockBypasses.Add(1)
			return viaDB(ctx, load, observe.OutcomeBypass)
		case store.Leased:
			if waited {
				return viaDB(ctx, load, observe.OutcomeBypass)
			}
			waited = true
			t.stats.leaseWaits.Add(1)
			e, seenAt = t.awaitLease(ctx, key)
			continue
		}
		if leased++; leased > 2 {
			return viaDB(ctx, load, observe.OutcomeBypass)
		}
		token := rand.Text()
		seenAt = time.Now()
		ok, cur, err := t.store.Lease(ctx, key, token, t.opts.leaseTTL)
		if err != nil {
			t.storeFailed(ctx, "lease", err)
			return viaDB(ctx, load, observe.OutcomeBypass)
		}
		if !ok {
			e = cur
			continue
		}
		res, err := viaDB(ctx, load, observe.OutcomeMiss)
		if err != nil || !res.fillable {
			// Give the lease back so other readers need not wait it out.
			if rerr := t.store.Release(ctx, key, token); rerr != nil {
				t.storeFailed(ctx, "release", rerr)
			}
			return res, err
		}
		ttl := t.opts.notFoundTTL
		if res.kind == store.CachedRow {
			ttl = jitter(t.opts.ttl)
		}
		fillAt := time.Now()
		stored, err := t.store.Fill(ctx, key, token, store.Entry{Kind: res.kind, Value: res.data}, ttl)
		switch {
		case err != nil:
			t.storeFailed(ctx, "fill", err)
		case stored:
			t.stats.fills.Add(1)
			res.filledAt = fillAt
		}
		return res, nil
	}
}

// awaitLease polls a key another reader holds a lease on, for at most the
// lease wait, and returns what it holds last and when that read began.
func (t *Table[T]) awaitLease(ctx context.Context, key string) (store.Entry, time.Time) {
	deadline := time.Now().Add(t.opts.leaseWait)
	pause := time.Millisecond
	for {
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return store.Entry{Kind: store.Leased}, time.Time{}
		case <-timer.C:
		}
		at := time.Now()
		e, err := t.store.Get(ctx, key)
		if err != nil {
			t.storeFailed(ctx, "get", err)
			return store.Entry{Kind: store.Leased}, at
		}
		if e.Kind != store.Leased || time.Now().After(deadline) {
			return e, at
		}
		if pause < 8*time.Millisecond {
			pause *= 2
		}
	}
}

// discard drops a value the table cannot read. A lock and its release is
// the one safe way to delete: a writer's lock survives it (its count goes up
// and back down) and a concurrent fill's lease is voided.
func (t *Table[T]) discard(ctx context.Context, key string) {
	if err := t.discardErr(context.WithoutCancel(ctx), key); err != nil {
		t.invalidationFailed(ctx, key, err, false)
	}
}

func (t *Table[T]) discardErr(ctx context.Context, key string) error {
	if err := t.store.Lock(ctx, key, t.opts.lockTTL); err != nil {
		t.storeFailed(ctx, "lock", err)
		return err
	}
	if err := t.store.Unlock(ctx, key); err != nil {
		t.storeFailed(ctx, "unlock", err)
		return err
	}
	if t.near != nil {
		if err := t.near.announce(ctx, []string{key}); err != nil {
			t.storeFailed(ctx, "publish", err)
			return err
		}
	}
	return nil
}

// jitter shortens a TTL by up to a tenth, so that rows filled in one burst
// do not expire in one burst.
func jitter(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d - time.Duration(mrand.Int64N(int64(d/10)))
}

func (t *Table[T]) loadOne(ctx context.Context, i int, key string, probe *T) (loaded[T], error) {
	t.stats.dbReads.Add(1)
	ep := t.epochNow()
	start := time.Now()
	row := new(T)
	err := t.spec.Mapper.Scan(t.querier().QueryRowxContext(ctx, t.sql.selectBy[i], t.args(i, probe)...), row)
	dbTime := time.Since(start)
	if errors.Is(err, sql.ErrNoRows) {
		return loaded[T]{kind: store.CachedNotFound, fillable: t.keepsMisses(i) && t.missCacheable(ctx, i) && t.stillTrusts(i, ep), dbTime: dbTime, readAt: start}, nil
	}
	if err != nil {
		return loaded[T]{}, fmt.Errorf("cachegen: read %s by %s: %w", t.spec.Table, t.spec.Indexes[i].Name, err)
	}
	data, err := t.encodeRow(key, row)
	if err != nil {
		return loaded[T]{}, err
	}
	// Fill only when the row's own key is the lookup's key: a writer
	// invalidates the keys of the values in the row, so a row that the
	// database matched by a looser equality (a case-insensitive collation,
	// a rounded time) must not be cached under the lookup's spelling.
	return loaded[T]{kind: store.CachedRow, data: data, fillable: t.Key(i, row) == key && t.stillTrusts(i, ep), row: row, dbTime: dbTime, readAt: start}, nil
}

// missCacheable reports whether the database finds a row for a lookup on
// index i exactly when the row's key is the lookup's key: then a confirmed
// miss may be cached, and a batch may take a lookup that no row's key
// matched for a miss. For text indexes it asks the catalog, at the first
// miss that needs it; inside a transaction it does not (the pool may have
// no connection to spare) and answers false until another read has asked.
func (t *Table[T]) missCacheable(ctx context.Context, i int) bool {
	switch t.spec.Indexes[i].Misses {
	case CacheMisses:
		return true
	case CacheMissesIfExact:
		if known := t.exact.known.Load(); known != nil {
			return (*known)[i]
		}
		if t.tx != nil {
			return false
		}
		return t.readExactness(ctx)[i]
	}
	return false
}

// catalogRetry is how long a table waits to read the catalog again after a
// read failed; meanwhile its text indexes cache no misses.
const catalogRetry = time.Minute

// exactness is what the catalog said of a table's indexes: per index,
// whether a confirmed miss may be cached (see missCacheable).
type exactness struct {
	known atomic.Pointer[[]bool] // nil until the catalog was read
	// guard is the guarded UPDATE the catalog allows (see guardFor), set
	// before known; nil when it allows none.
	guard atomic.Pointer[guarded]
	mu    sync.Mutex // one catalog read at a time
	retry time.Time  // after a failed read: not before then
}

// readExactness reads the table's columns from the catalog and works out,
// per index, whether its misses may be cached. A read that fails leaves
// every text index loose until catalogRetry has passed.
func (t *Table[T]) readExactness(ctx context.Context) []bool {
	t.exact.mu.Lock()
	defer t.exact.mu.Unlock()
	if known := t.exact.known.Load(); known != nil {
		return *known
	}
	per := make([]bool, len(t.spec.Indexes))
	for k, ix := range t.spec.Indexes {
		per[k] = ix.Misses == CacheMisses
	}
	if time.Now().Before(t.exact.retry) {
		return per
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.opts.fillTimeout)
	defer cancel()
	schema, table, ok := strings.Cut(t.spec.Table, ".")
	if !ok {
		schema, table = "", t.spec.Table
	}
	cs, err := catalog.Comparisons(ctx, t.db, t.dialect.String(), schema, table)
	if err != nil {
		t.exact.retry = time.Now().Add(catalogRetry)
		return per
	}
	for k, ix := range t.spec.Indexes {
		if ix.Misses != CacheMissesIfExact {
			continue
		}
		per[k] = true
		for _, c := range ix.Text {
			if cmp, ok := catalog.Find(cs, t.spec.Columns[c]); !ok || !cmp.Exact {
				per[k] = false
			}
		}
	}
	t.exact.guard.Store(t.guardFrom(cs))
	t.exact.known.Store(&per)
	return per
}

func (t *Table[T]) loadAll(ctx context.Context) (loaded[T], error) {
	t.stats.dbReads.Add(1)
	ep := t.epochNow()
	start := time.Now()
	rs, err := t.querier().QueryxContext(ctx, t.sql.selectAll)
	if err != nil {
		return loaded[T]{}, fmt.Errorf("cachegen: read all of %s: %w", t.spec.Table, err)
	}
	defer rs.Close()
	var rows []T
	for rs.Next() {
		var row T
		if err := t.spec.Mapper.Scan(rs, &row); err != nil {
			return loaded[T]{}, fmt.Errorf("cachegen: read all of %s: %w", t.spec.Table, err)
		}
		rows = append(rows, row)
	}
	if err := rs.Err(); err != nil {
		return loaded[T]{}, fmt.Errorf("cachegen: read all of %s: %w", t.spec.Table, err)
	}
	dbTime := time.Since(start)
	fillable := len(rows) <= t.opts.allCap
	if !fillable {
		t.stats.allOverCap.Add(1)
	}
	data, err := t.encodeList(rows)
	if err != nil {
		return loaded[T]{}, err
	}
	fillable = fillable && t.stillTrusts(0, ep)
	return loaded[T]{kind: store.CachedRow, data: data, fillable: fillable, rows: rows, dbTime: dbTime, readAt: start}, nil
}

// args returns the SQL arguments of index i taken from row.
func (t *Table[T]) args(i int, row *T) []any {
	vals := t.spec.Mapper.Values(row)
	cols := t.spec.Indexes[i].Columns
	args := make([]any, len(cols))
	for j, c := range cols {
		args[j] = vals[c]
	}
	return args
}
