package indexsets_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	v1 "github.com/cachegen/cachegen/internal/openworld/indexsets/v1"
	v2 "github.com/cachegen/cachegen/internal/openworld/indexsets/v2"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/jmoiron/sqlx"
)

var schemas = map[string]string{
	"sqlite": `CREATE TABLE members (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE,
		handle TEXT NOT NULL UNIQUE, code TEXT UNIQUE, balance INTEGER NOT NULL)`,
	"postgres": `CREATE TABLE members (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE,
		handle TEXT NOT NULL UNIQUE, code TEXT UNIQUE, balance BIGINT NOT NULL)`,
}

// clock is the build board's time, moved by the test: heartbeats happen
// when a repository is used after it moved on by a period, and a write
// that waits for the other build moves it itself.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.advance(d)
	return nil
}

// Go runs a heartbeat at once, on the caller's goroutine, so that the
// test knows it has landed.
func (c *clock) Go(f func()) { f() }

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const period = time.Second

// world is both builds on one table, one store and one key prefix.
type world struct {
	db    *sqlx.DB
	a     *v1.MemberRepo // the old build: no index on handle, no code column
	b     *v2.MemberRepo // the new build: unique handle and unique code
	clock *clock
	// aRows and bRows are the builds' tables as a change-stream consumer
	// (runtime/cdc) sees them.
	aRows, bRows engine.ChangeTable
}

// beat moves the clock by a period and uses both repositories, so each
// announces itself and reads the other's announcement.
func (w *world) beat(t *testing.T) {
	t.Helper()
	w.clock.advance(period)
	ctx := context.Background()
	for _, get := range []func() error{
		func() error { _, err := w.a.GetByID(ctx, -1); return err },
		func() error { _, err := w.b.GetByID(ctx, -1); return err },
	} {
		if err := get(); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("probe read: %v", err)
		}
	}
}

func each(t *testing.T, test func(t *testing.T, w *world)) {
	open := func(t *testing.T, db *sqlx.DB, dialect string, store runtime.Store, opts ...runtime.Option) {
		db.MustExec(schemas[dialect])
		c := &clock{now: time.Now()}
		reg := runtime.NewRegistry()
		opts = append(opts, engine.WithBuildClock(c), runtime.WithBuildHeartbeat(period), runtime.WithRegistry(reg))
		a, err := v1.NewRepos(db, store, opts...)
		if err != nil {
			t.Fatal(err)
		}
		b, err := v2.NewRepos(db, store, opts...)
		if err != nil {
			t.Fatal(err)
		}
		tables := reg.ChangeTables() // in the order made: a's, then b's
		if len(tables) != 2 {
			t.Fatalf("%d change tables, want 2", len(tables))
		}
		test(t, &world{db: db, a: a.Members, b: b.Members, clock: c, aRows: tables[0], bRows: tables[1]})
	}
	for _, s := range []pairs.Store{{Name: "memory", Open: pairs.Memory}, {Name: "redis", Open: pairs.Redis}, {Name: "redis-cluster", Open: pairs.RedisCluster}, {Name: "memcached", Open: pairs.Memcached}} {
		t.Run("sqlite+"+s.Name, func(t *testing.T) {
			db, _ := dbtest.OpenSQLite(t)
			prefix := dbtest.UniqueName()
			open(t, db, "sqlite", s.Open(t, prefix), runtime.WithPrefix(prefix))
		})
	}
	// One process running both builds shares one near cache, whose
	// announcements must drop what either build kept under the other's
	// index.
	t.Run("postgres+redis+near", func(t *testing.T) {
		db, _ := dbtest.OpenPostgres(t)
		prefix := dbtest.UniqueName()
		store, near := pairs.RedisNear(t, prefix)
		open(t, db, "postgres", store, runtime.WithPrefix(prefix), runtime.WithNearCache(near))
	})
}

func code(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

// handleOf reads b's row by handle: its id, or 0 for not found.
func handleOf(t *testing.T, b *v2.MemberRepo, handle string) int64 {
	t.Helper()
	m, err := b.GetByHandle(context.Background(), handle)
	if errors.Is(err, runtime.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// TestHandleChangedByOldBuild: the old build maps handle but does not index
// it; it changes a row's handle from h1 to h2. The new build, which had
// cached the row under handle=h1 and a not-found under handle=h2, must see
// the change at once by both values.
func TestHandleChangedByOldBuild(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		m := &v2.Member{Email: "m@x", Handle: "h1", Code: code("c1"), Balance: 1}
		if err := w.b.Save(ctx, m); err != nil {
			t.Fatal(err)
		}
		// Two periods: the old build learns the handle index, then
		// announces that its writes lock it.
		w.beat(t)
		w.beat(t)
		w.beat(t)
		before := w.b.Stats()
		for range 2 {
			if got := handleOf(t, w.b, "h1"); got != m.ID {
				t.Fatalf("handle h1: id %d, want %d", got, m.ID)
			}
			if got := handleOf(t, w.b, "h2"); got != 0 {
				t.Fatalf("handle h2: id %d, want not found", got)
			}
		}
		after := w.b.Stats()
		if hits := after.Hits + after.NearHits - before.Hits - before.NearHits; hits < 2 {
			t.Fatalf("the new build caches its handle index once the old one covers it: %d hits in 4 reads, want 2", hits)
		}
		old, err := w.a.GetByID(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		old.Handle = "h2"
		if err := w.a.Save(ctx, old); err != nil {
			t.Fatal(err)
		}
		if got := handleOf(t, w.b, "h1"); got != 0 {
			t.Errorf("after the old build moved the handle to h2, handle h1 still finds id %d", got)
		}
		if got := handleOf(t, w.b, "h2"); got != m.ID {
			t.Errorf("after the old build moved the handle to h2, handle h2 finds id %d, want %d", got, m.ID)
		}
	})
}

// TestCodeUnmappedByOldBuild: the new build's code index is on a column
// the old build does not map, so while the old build announces itself the
// new one reads it from the database. A delete by the old build is seen at
// once; once the old build's announcement lapses, the index is cached
// again.
func TestCodeUnmappedByOldBuild(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		m := &v2.Member{Email: "m@x", Handle: "h1", Code: code("c1"), Balance: 1}
		if err := w.b.Save(ctx, m); err != nil {
			t.Fatal(err)
		}
		w.beat(t)
		w.beat(t)
		for range 2 {
			if got, err := w.b.GetByCode(ctx, code("c1")); err != nil || got.ID != m.ID {
				t.Fatalf("code c1: %v, %v", got, err)
			}
		}
		s := w.b.Stats()
		if s.IndexUncovered < 2 {
			t.Errorf("reads by code while the old build lives: %d uncovered, want 2", s.IndexUncovered)
		}
		if err := w.a.Delete(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := w.b.GetByCode(ctx, code("c1")); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("after the old build deleted the row, code c1 finds %+v (%v)", got, err)
		}

		// The old build stops; after its announcement lapses (three
		// periods) the new build caches its code index again.
		n := &v2.Member{Email: "n@x", Handle: "h3", Code: code("c3"), Balance: 1}
		if err := w.b.Save(ctx, n); err != nil {
			t.Fatal(err)
		}
		w.clock.advance(4 * period)
		before := w.b.Stats()
		for range 3 {
			if got, err := w.b.GetByCode(ctx, code("c3")); err != nil || got.ID != n.ID {
				t.Fatalf("code c3: %v, %v", got, err)
			}
		}
		after := w.b.Stats()
		if hits := after.Hits + after.NearHits - before.Hits - before.NearHits; hits < 2 {
			t.Errorf("after the old build's announcement lapsed: %d hits by code in 3 reads, want 2", hits)
		}
		if after.IndexUncovered != before.IndexUncovered {
			t.Errorf("after the old build's announcement lapsed: %d reads by code still uncovered", after.IndexUncovered-before.IndexUncovered)
		}
	})
}

// TestFencedAfterGap: the new build caches a row under code while it runs
// alone; the old build, which does not map code, joins and deletes the
// row, then its announcement lapses. The row cached before the old build
// joined was filled in an earlier epoch of the board and must not be
// served once code is trusted again.
func TestFencedAfterGap(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		m := &v2.Member{Email: "m@x", Handle: "h1", Code: code("c1"), Balance: 1}
		if err := w.b.Save(ctx, m); err != nil {
			t.Fatal(err)
		}
		before := w.b.Stats()
		for range 2 {
			if got, err := w.b.GetByCode(ctx, code("c1")); err != nil || got.ID != m.ID {
				t.Fatalf("code c1: %v, %v", got, err)
			}
		}
		if after := w.b.Stats(); after.Hits+after.NearHits == before.Hits+before.NearHits {
			t.Fatal("the new build alone does not cache its code index")
		}
		// The old build joins (its first use) and deletes the row; its
		// write skips the code keys, which it cannot compute.
		if err := w.a.Delete(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		w.clock.advance(4 * period) // its announcement lapses
		if got, err := w.b.GetByCode(ctx, code("c1")); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("after a build that skipped the code keys deleted the row and left, code c1 finds %+v (%v)", got, err)
		}
	})
}

// memberRow is a members row as a change stream gives it: every column of
// the table, by name.
func memberRow(id int64, email, handle, code string, balance int64) map[string]any {
	return map[string]any{"id": id, "email": email, "handle": handle, "code": code, "balance": balance}
}

// TestChangeStreamDropsLearnedKeys: a change-stream consumer holding the old
// build's table (which does not index handle) drops, for a changed row, the
// key the new build caches that row under by handle, once the old build
// has learned the handle index from the board; a raw UPDATE of handle
// applied that way is seen by the new build at once by both values.
func TestChangeStreamDropsLearnedKeys(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		m := &v2.Member{Email: "m@x", Handle: "h1", Code: code("c1"), Balance: 1}
		if err := w.b.Save(ctx, m); err != nil {
			t.Fatal(err)
		}
		w.beat(t)
		w.beat(t)
		w.beat(t)

		// The keys of the row: v1's are v2's id, email and handle keys
		// (v2's code key it cannot know: it does not map code).
		old := memberRow(m.ID, "m@x", "h1", "c1", 1)
		got, err := w.aRows.RowKeys(old)
		if err != nil {
			t.Fatal(err)
		}
		want, err := w.bRows.RowKeys(old)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 4 {
			t.Fatalf("v2's keys of a row: %q, want 4 (id, email, handle, code)", want)
		}
		if !slices.Contains(got, want[2]) {
			t.Errorf("v1's change-stream keys %q lack v2's handle key %q", got, want[2])
		}
		for _, k := range got {
			if !slices.Contains(want[:3], k) {
				t.Errorf("v1's change-stream key %q is none of v2's id, email, handle keys %q", k, want[:3])
			}
		}

		// v2 caches the row under handle h1 and a not-found under h2.
		for range 2 {
			if id := handleOf(t, w.b, "h1"); id != m.ID {
				t.Fatalf("handle h1: id %d, want %d", id, m.ID)
			}
			if id := handleOf(t, w.b, "h2"); id != 0 {
				t.Fatalf("handle h2: id %d, want not found", id)
			}
		}
		// A write from outside any repository, applied as the consumer
		// does through the old build's table: the old row's keys and the
		// new row's.
		w.db.MustExec(w.db.Rebind("UPDATE members SET handle = ? WHERE id = ?"), "h2", m.ID)
		var keys []string
		for _, row := range []map[string]any{old, memberRow(m.ID, "m@x", "h2", "c1", 1)} {
			ks, err := w.aRows.RowKeys(row)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, ks...)
		}
		if err := w.aRows.DropKeys(ctx, keys); err != nil {
			t.Fatal(err)
		}
		if id := handleOf(t, w.b, "h1"); id != 0 {
			t.Errorf("after a raw update of the handle to h2 went through the change stream, handle h1 still finds id %d", id)
		}
		if id := handleOf(t, w.b, "h2"); id != m.ID {
			t.Errorf("after a raw update of the handle to h2 went through the change stream, handle h2 finds id %d, want %d", id, m.ID)
		}
	})
}
