package engine_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/memory"
	cachestore "github.com/cachegen/cachegen/runtime/store"
)

// syncBus is a Bus inside one test: Publish hands the keys to every
// listener before it returns, and a probe comes back at once, so ordering
// questions do not arise and what a test checks is the runtime's part.
type syncBus struct {
	mu        sync.Mutex
	listeners []cachestore.BusHandler
	fail      atomic.Int32 // Publish calls left to fail
	mute      atomic.Bool  // Publish succeeds but delivers nothing (a broken bus)
	noSync    atomic.Bool  // probes never come back
	published atomic.Int64
}

func (b *syncBus) Publish(_ context.Context, keys []string) error {
	if b.fail.Load() > 0 {
		b.fail.Add(-1)
		return errors.New("bus down")
	}
	b.published.Add(1)
	if b.mute.Load() {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, h := range b.listeners {
		h.Invalidated(keys)
	}
	return nil
}

func (b *syncBus) Listen(ctx context.Context, interval time.Duration, h cachestore.BusHandler) error {
	b.mu.Lock()
	b.listeners = append(b.listeners, h)
	b.mu.Unlock()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if !b.noSync.Load() {
			h.Synced(time.Now())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// lose tells every listener that messages were lost.
func (b *syncBus) lose() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, h := range b.listeners {
		h.Lost()
	}
}

// The near cache tests run in synctest bubbles: the bus's probes, Ready's
// wait and the retry queue's pauses run on the bubble's clock, so no step
// waits for real time or depends on how fast the machine is.

// process is one simulated process: a near cache of its own in front of
// the shared store, and a repository using it.
type process struct {
	near *runtime.NearCache
	t    *engine.Table[pair]
}

func newProcess(t testing.TB, db *sqlx.DB, store runtime.Store, bus cachestore.Bus) *process {
	t.Helper()
	return newProcessOf(t, db, store, bus, &pairSpec)
}

// newProcessOf is newProcess on spec.
func newProcessOf(t testing.TB, db *sqlx.DB, store runtime.Store, bus cachestore.Bus, spec *engine.Spec[pair]) *process {
	t.Helper()
	near, err := runtime.NewNearCache(bus, runtime.NearOptions{MaxStaleness: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { near.Close() })
	tbl, err := engine.NewTable(db, store, spec, runtime.WithNearCache(near))
	if err != nil {
		t.Fatal(err)
	}
	waitFresh(t, near)
	return &process{near: near, t: tbl}
}

func waitFresh(t testing.TB, n *runtime.NearCache) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}

// getByID reads the way generated code does: the key built on the stack,
// the probe passed by value.
func (p *process) getByID(ctx context.Context, id int64) (*pair, error) {
	probe := pair{ID: id}
	var key [engine.KeyBufferSize]byte
	return p.t.GetKey(ctx, 0, pairMapper{}.AppendKey(p.t.KeyPrefix(key[:0], 0), 0, &probe), probe)
}

// countingStore counts the Get calls that reach the store.
type countingStore struct {
	runtime.Store
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, key string) (cachestore.Entry, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

func (s *countingStore) ScanKeys(ctx context.Context, prefix string, fn func(key string) error) error {
	return s.Store.(cachestore.KeyScanner).ScanKeys(ctx, prefix, fn)
}

func nearFixture(t testing.TB) (*sqlx.DB, *countingStore, *syncBus) {
	t.Helper()
	db, _ := dbtest.OpenSQLite(t)
	db.MustExec(`CREATE TABLE pairs (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT NOT NULL, UNIQUE (a, b))`)
	db.MustExec(`INSERT INTO pairs (id, a, b, v) VALUES (1, 1, 'one', 'first'), (2, 2, 'two', 'second')`)
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	return db, &countingStore{Store: mem}, &syncBus{}
}

func wantV(t *testing.T, what string, p *pair, err error, v string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if p.V != v {
		t.Fatalf("%s: v = %q, want %q", what, p.V, v)
	}
}

// TestNearHitSkipsTheStore: once read, a row is answered from the near
// cache, by the primary key and by a unique index, without a store call.
func TestNearHitSkipsTheStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, store, bus := nearFixture(t)
		p := newProcess(t, db, store, bus)
		for range 3 {
			row, err := p.getByID(ctx, 1)
			wantV(t, "get 1", row, err, "first")
		}
		for range 3 {
			row, err := p.t.Get(ctx, 1, &pair{A: 2, B: "two"})
			wantV(t, "get (2, two)", row, err, "second")
		}
		for range 2 {
			if _, err := p.t.Get(ctx, 1, &pair{A: 9, B: "none"}); !errors.Is(err, runtime.ErrNotFound) {
				t.Fatalf("get (9, none): %v, want ErrNotFound", err)
			}
		}
		if got := store.gets.Load(); got != 3 {
			t.Fatalf("store gets = %d, want 3 (one per key)", got)
		}
		// A not-found under a generated primary key is kept nowhere (an
		// insert cannot lock that key before it commits): each read asks.
		for range 2 {
			if _, err := p.getByID(ctx, 99); !errors.Is(err, runtime.ErrNotFound) {
				t.Fatalf("get 99: %v, want ErrNotFound", err)
			}
		}
		if got := store.gets.Load(); got != 5 {
			t.Fatalf("store gets = %d, want 5 (two for id 99)", got)
		}
		if got := p.t.Stats().NearHits; got != 5 {
			t.Fatalf("near hits = %d, want 5", got)
		}
		// The near cache counts what its tables count, a second table's
		// hits included.
		other, err := engine.NewTable(db, store, &pairSpec, runtime.WithNearCache(p.near))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := other.Get(ctx, 0, &pair{ID: 2}); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := p.near.Stats().Hits, p.t.Stats().NearHits+other.Stats().NearHits; got != want || want != 6 {
			t.Fatalf("near cache hits = %d, want %d = 5 + 1 (the tables' near hits)", got, want)
		}
		// The rows are copies: changing one does not change the next answer.
		row, _ := p.getByID(ctx, 1)
		row.V = "scribbled"
		row, err = p.getByID(ctx, 1)
		wantV(t, "get 1 after scribbling on a copy", row, err, "first")
	})
}

// TestNearWriteReachesOtherProcesses: a write in one process drops the
// row from every near cache before it returns (this bus delivers at once),
// so no process reads the old row afterwards; a bus that delivers nothing
// shows that the check can fail.
func TestNearWriteReachesOtherProcesses(t *testing.T) {
	for _, mute := range []bool{false, true} {
		t.Run(map[bool]string{false: "bus", true: "mute bus"}[mute], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				db, store, bus := nearFixture(t)
				a, b := newProcess(t, db, store, bus), newProcess(t, db, store, bus)
				for _, p := range []*process{a, b} {
					row, err := p.getByID(ctx, 1)
					wantV(t, "warm", row, err, "first")
				}
				bus.mute.Store(mute)
				if err := a.t.Save(ctx, &pair{ID: 1, A: 1, B: "one", V: "changed"}); err != nil {
					t.Fatal(err)
				}
				for name, p := range map[string]*process{"writer": a, "other": b} {
					row, err := p.getByID(ctx, 1)
					if err != nil {
						t.Fatal(err)
					}
					switch {
					case !mute && row.V != "changed":
						t.Fatalf("%s process read %q after the write returned", name, row.V)
					case mute && name == "other" && row.V != "first":
						t.Fatalf("with a mute bus the other process read %q; the negative control expects the stale row", row.V)
					}
				}
			})
		})
	}
}

// TestNearNotServedWhenNotFresh: without a probe coming back, the near
// cache holds entries but serves none.
func TestNearNotServedWhenNotFresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, store, bus := nearFixture(t)
		bus.noSync.Store(true)
		near, err := runtime.NewNearCache(bus, runtime.NearOptions{MaxStaleness: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer near.Close()
		tbl, err := engine.NewTable(db, store, &pairSpec, runtime.WithNearCache(near))
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			row, err := tbl.Get(ctx, 0, &pair{ID: 1})
			wantV(t, "get 1", row, err, "first")
		}
		if got := tbl.Stats().NearHits; got != 0 {
			t.Fatalf("near hits = %d without a synced bus, want 0", got)
		}
		if near.Stats().Fresh {
			t.Fatal("near cache reports fresh without a probe")
		}
		wait, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := near.Ready(wait); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Ready without a probe: %v, want the context's deadline", err)
		}
	})
}

// TestNearLostDropsEverything: when the bus may have missed messages the
// near cache forgets all it holds.
func TestNearLostDropsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, store, bus := nearFixture(t)
		p := newProcess(t, db, store, bus)
		p.getByID(ctx, 1)
		p.getByID(ctx, 1)
		before := store.gets.Load()
		bus.lose()
		p.getByID(ctx, 1)
		if store.gets.Load() != before+1 {
			t.Fatal("after Lost the read did not go to the store")
		}
		if p.near.Stats().Losses != 1 {
			t.Fatalf("losses = %d, want 1", p.near.Stats().Losses)
		}
	})
}

// TestNearPublishFailureIsRetried: a write whose announcement the bus
// refused still commits; the key is announced again by the retry queue,
// and until then this process reads past its caches while the others keep
// their copies.
func TestNearPublishFailureIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, store, bus := nearFixture(t)
		a, b := newProcess(t, db, store, bus), newProcess(t, db, store, bus)
		b.getByID(ctx, 1)
		bus.fail.Store(2) // the announcement before commit and the one after
		if err := a.t.Save(ctx, &pair{ID: 1, A: 1, B: "one", V: "changed"}); err != nil {
			t.Fatal(err)
		}
		if a.t.PendingInvalidations() == 0 {
			t.Fatal("no invalidation queued after the bus failed")
		}
		row, err := a.getByID(ctx, 1)
		wantV(t, "writer reads while its announcement is pending", row, err, "changed")
		// Until the retry, the other process serves its copy: the
		// staleness the near cache's TTL bounds.
		row, err = b.getByID(ctx, 1)
		wantV(t, "other process before the retry", row, err, "first")
		// The retry queue's first pause passes on the bubble's clock;
		// synctest.Wait returns once its worker is done or asleep again.
		time.Sleep(time.Second)
		synctest.Wait()
		if n := a.t.PendingInvalidations(); n != 0 {
			t.Fatalf("%d invalidations still pending a second after the bus recovered", n)
		}
		row, err = b.getByID(ctx, 1)
		wantV(t, "other process after the retry", row, err, "changed")
		if got := bus.published.Load(); got < 1 {
			t.Fatalf("published = %d: the retry did not go through the bus", got)
		}
	})
}

// TestNearPutRacesInvalidation: a value read before an invalidation is not
// kept, even when it arrives after it.
func TestNearPutRacesInvalidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, store, bus := nearFixture(t)
		a, b := newProcess(t, db, store, bus), newProcess(t, db, store, bus)
		// b's store read returns the old row, then a's write is announced
		// before b keeps what it read.
		gate := &gatedStore{Store: store, hold: make(chan struct{}), reached: make(chan struct{})}
		tb, err := engine.NewTable(db, gate, &pairSpec, runtime.WithNearCache(b.near))
		if err != nil {
			t.Fatal(err)
		}
		a.getByID(ctx, 1) // the store now holds the old row
		done := make(chan struct{})
		go func() {
			defer close(done)
			row, err := tb.Get(ctx, 0, &pair{ID: 1})
			wantV(t, "read that raced the write", row, err, "first")
		}()
		<-gate.reached
		if err := a.t.Save(ctx, &pair{ID: 1, A: 1, B: "one", V: "changed"}); err != nil {
			t.Fatal(err)
		}
		close(gate.hold)
		<-done
		row, err := tb.Get(ctx, 0, &pair{ID: 1})
		wantV(t, "read after the write", row, err, "changed")
	})
}

// gatedStore returns the first Get's answer only once hold is closed.
type gatedStore struct {
	runtime.Store
	once    sync.Once
	hold    chan struct{}
	reached chan struct{}
}

func (s *gatedStore) Get(ctx context.Context, key string) (cachestore.Entry, error) {
	e, err := s.Store.Get(ctx, key)
	s.once.Do(func() {
		close(s.reached)
		<-s.hold
	})
	return e, err
}

// flatPairSpec is pairSpec marked Flat, as cachegen marks a model whose
// columns are all values: the near cache keeps the decoded row.
var flatPairSpec = func() engine.Spec[pair] {
	s := pairSpec
	s.Flat = true
	return s
}()

// TestNearHitAllocatesOnlyTheRow: the near-cache hit of generated code
// allocates the row it returns and nothing else, whether it copies a kept
// row (Flat) or decodes the kept bytes.
func TestNearHitAllocatesOnlyTheRow(t *testing.T) {
	for name, spec := range map[string]*engine.Spec[pair]{"flat": &flatPairSpec, "decoded": &pairSpec} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				db, store, bus := nearFixture(t)
				p := newProcessOf(t, db, store, bus, spec)
				p.getByID(ctx, 1)
				allocs := testing.AllocsPerRun(200, func() {
					if _, err := p.getByID(ctx, 1); err != nil {
						t.Fatal(err)
					}
				})
				if allocs > 1 {
					t.Fatalf("near hit: %.1f allocations, want 1", allocs)
				}
				if p.t.Stats().NearHits < 200 {
					t.Fatalf("near hits = %d: the reads did not hit the near cache", p.t.Stats().NearHits)
				}
			})
		})
	}
}

// TestNearFlatRowsAreCopies: with a Flat model every reader gets a copy of
// the kept row, so what one reader changes nobody else sees, by a single
// or a batch read.
func TestNearFlatRowsAreCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, store, bus := nearFixture(t)
		p := newProcessOf(t, db, store, bus, &flatPairSpec)
		p.getByID(ctx, 1)
		for range 3 {
			row, err := p.getByID(ctx, 1)
			wantV(t, "get 1", row, err, "first")
			row.V, row.B = "scribbled", "scribbled"
			rows, err := p.t.GetMany(ctx, 0, []*pair{{ID: 1}, {ID: 1}})
			if err != nil {
				t.Fatal(err)
			}
			wantV(t, "batch get 1", rows[0], nil, "first")
			wantV(t, "batch get 1 again", rows[1], nil, "first")
			rows[0].V = "scribbled"
		}
		if got := p.t.Stats().NearHits; got < 6 {
			t.Fatalf("near hits = %d, want the reads answered by the near cache", got)
		}
	})
}

// TestNearInvalidateAllReachesCopiesTheStoreLost: InvalidateAll lists the
// keys the store holds; a copy whose store key was evicted meanwhile is
// dropped all the same.
func TestNearInvalidateAllReachesCopiesTheStoreLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, store, bus := nearFixture(t)
		a, b := newProcess(t, db, store, bus), newProcess(t, db, store, bus)
		row, err := b.getByID(ctx, 1)
		wantV(t, "warm", row, err, "first")
		if err := store.Delete(ctx, b.t.Key(0, &pair{ID: 1})); err != nil { // evicted
			t.Fatal(err)
		}
		db.MustExec(`UPDATE pairs SET v = 'migrated' WHERE id = 1`)
		if err := a.t.InvalidateAll(ctx); err != nil {
			t.Fatal(err)
		}
		row, err = b.getByID(ctx, 1)
		wantV(t, "after InvalidateAll", row, err, "migrated")
	})
}

// TestNearBatch: a batch read answers from the near cache what it holds,
// asks the store for the rest, and keeps what the store answered; a write
// elsewhere reaches it like a single read.
func TestNearBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, store, bus := nearFixture(t)
		a, b := newProcess(t, db, store, bus), newProcess(t, db, store, bus)
		probes := []*pair{{ID: 1}, {ID: 2}, {ID: 99}}
		for round := range 2 {
			rows, err := b.t.GetMany(ctx, 0, probes)
			if err != nil {
				t.Fatal(err)
			}
			if rows[0].V != "first" || rows[1].V != "second" || rows[2] != nil {
				t.Fatalf("round %d: %+v %+v %+v", round, rows[0], rows[1], rows[2])
			}
		}
		// Id 99's not-found is not kept: a generated key's never is.
		if got := b.t.Stats().NearHits; got != 2 {
			t.Fatalf("near hits = %d after a repeated batch of 3, want 2", got)
		}
		gets := store.gets.Load()
		if err := a.t.Save(ctx, &pair{ID: 2, A: 2, B: "two", V: "changed"}); err != nil {
			t.Fatal(err)
		}
		rows, err := b.t.GetMany(ctx, 0, probes)
		if err != nil {
			t.Fatal(err)
		}
		if rows[0].V != "first" || rows[1].V != "changed" || rows[2] != nil {
			t.Fatalf("after the write: %+v %+v %+v", rows[0], rows[1], rows[2])
		}
		if store.gets.Load() == gets {
			t.Fatal("the changed row was not read from the store")
		}
	})
}

// forgetfulStore loses every write lock at once, as a flush, a restart or
// a transaction outliving the lock TTL would.
type forgetfulStore struct{ runtime.Store }

func (forgetfulStore) Lock(context.Context, string, time.Duration) error { return nil }

// TestNearLostLockIsAnnouncedAgain: when the store lost a write's lock, a
// process may read the database before the commit and keep the old row;
// the announcement after the release drops it.
func TestNearLostLockIsAnnouncedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, store, bus := nearFixture(t)
		b := newProcess(t, db, store, bus)
		near, err := runtime.NewNearCache(bus, runtime.NearOptions{MaxStaleness: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer near.Close()
		a, err := engine.NewTable(db, forgetfulStore{store}, &pairSpec, runtime.WithNearCache(near))
		if err != nil {
			t.Fatal(err)
		}
		waitFresh(t, near)
		tx, err := runtime.Begin(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.WithTx(tx).Save(ctx, &pair{ID: 1, A: 1, B: "one", V: "changed"}); err != nil {
			t.Fatal(err)
		}
		row, err := b.getByID(ctx, 1) // the lock is gone: the database answers, before the commit
		wantV(t, "read during the write", row, err, "first")
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		row, err = b.getByID(ctx, 1)
		wantV(t, "read after the write", row, err, "changed")
	})
}

// BenchmarkNearHit is the hit path of generated code on a near cache, for
// a Flat model (a copy of the kept row): on a store without a build board,
// and on the memory store itself, whose board (as Redis's) every read
// consults.
func BenchmarkNearHit(b *testing.B) {
	ctx := context.Background()
	db, counting, bus := nearFixture(b)
	for _, c := range []struct {
		name  string
		store runtime.Store
	}{{"NoBoard", counting}, {"Board", counting.Store}} {
		b.Run(c.name, func(b *testing.B) {
			p := newProcessOf(b, db, c.store, bus, &flatPairSpec)
			if _, err := p.getByID(ctx, 1); err != nil {
				b.Fatal(err)
			}
			before := p.near.Stats().Hits
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.getByID(ctx, 1); err != nil {
					b.Fatal(err)
				}
			}
			if p.near.Stats().Hits == before {
				b.Fatal("the near cache answered nothing")
			}
		})
	}
	// Every core reading the one row: what the hit path's shared counters
	// cost when they are contended.
	b.Run("BoardParallel", func(b *testing.B) {
		p := newProcessOf(b, db, counting.Store, bus, &flatPairSpec)
		if _, err := p.getByID(ctx, 1); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.getByID(ctx, 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
