package twobuilds_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	v1 "github.com/cachegen/cachegen/internal/openworld/twobuilds/v1"
	v2 "github.com/cachegen/cachegen/internal/openworld/twobuilds/v2"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/jmoiron/sqlx"
)

var schemas = map[string]string{
	"sqlite": `CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE,
		note TEXT, org INTEGER NOT NULL, handle TEXT NOT NULL, balance INTEGER NOT NULL, UNIQUE (org, handle))`,
	"postgres": `CREATE TABLE accounts (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE,
		note TEXT, org BIGINT NOT NULL, handle TEXT NOT NULL, balance BIGINT NOT NULL, UNIQUE (org, handle))`,
	"mysql": `CREATE TABLE accounts (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE,
		note TEXT NULL, org BIGINT NOT NULL, handle VARCHAR(255) NOT NULL, balance BIGINT NOT NULL, UNIQUE (org, handle))`,
}

// row is an account as the database holds it; a v1 read leaves Note zero
// (that build does not map the column) and is compared without it.
type row struct {
	ID      int64
	Email   string
	Note    sql.NullString
	Org     int64
	Handle  string
	Balance int64
}

func fromV1(a *v1.Account) *row {
	if a == nil {
		return nil
	}
	return &row{ID: a.ID, Email: a.Email, Org: a.Org, Handle: a.Handle, Balance: a.Balance}
}

func fromV2(a *v2.Account) *row {
	if a == nil {
		return nil
	}
	return &row{ID: a.ID, Email: a.Email, Note: a.Note, Org: a.Org, Handle: a.Handle, Balance: a.Balance}
}

// build is one build's repository, seen through the reads every build has.
type build struct {
	name     string
	noteless bool // the build does not map note
	byID     func(ctx context.Context, id int64) (*row, error)
	byEmail  func(ctx context.Context, email string) (*row, error)
	byGroup  func(ctx context.Context, org int64, handle string) (*row, error)
	byIDs    func(ctx context.Context, ids []int64) ([]*row, error)
	byEmails func(ctx context.Context, emails []string) ([]*row, error)
	all      func(ctx context.Context) ([]*row, error)
	stats    func() runtime.Stats
}

func one[A any](conv func(*A) *row, get func(*A, error) (*A, error)) func(*A, error) (*row, error) {
	return func(a *A, err error) (*row, error) {
		a, err = get(a, err)
		if errors.Is(err, runtime.ErrNotFound) {
			return nil, nil
		}
		return conv(a), err
	}
}

func many[A any](conv func(*A) *row, as []*A, err error) ([]*row, error) {
	out := make([]*row, len(as))
	for i, a := range as {
		out[i] = conv(a)
	}
	return out, err
}

func build1(r *v1.AccountRepo) build {
	ret := one(fromV1, func(a *v1.Account, err error) (*v1.Account, error) { return a, err })
	return build{
		name: "v1", noteless: true,
		byID:    func(ctx context.Context, id int64) (*row, error) { return ret(r.GetByID(ctx, id)) },
		byEmail: func(ctx context.Context, e string) (*row, error) { return ret(r.GetByEmail(ctx, e)) },
		byGroup: func(ctx context.Context, o int64, h string) (*row, error) { return ret(r.GetByOrgHandle(ctx, o, h)) },
		byIDs: func(ctx context.Context, ids []int64) ([]*row, error) {
			as, err := r.GetByIDs(ctx, ids)
			return many(fromV1, as, err)
		},
		byEmails: func(ctx context.Context, es []string) ([]*row, error) {
			as, err := r.GetByEmails(ctx, es)
			return many(fromV1, as, err)
		},
		all: func(ctx context.Context) ([]*row, error) {
			as, err := r.All(ctx)
			out := make([]*row, len(as))
			for i := range as {
				out[i] = fromV1(as[i])
			}
			return out, err
		},
		stats: r.Stats,
	}
}

func build2(r *v2.AccountRepo) build {
	ret := one(fromV2, func(a *v2.Account, err error) (*v2.Account, error) { return a, err })
	return build{
		name:    "v2",
		byID:    func(ctx context.Context, id int64) (*row, error) { return ret(r.GetByID(ctx, id)) },
		byEmail: func(ctx context.Context, e string) (*row, error) { return ret(r.GetByEmail(ctx, e)) },
		byGroup: func(ctx context.Context, o int64, h string) (*row, error) { return ret(r.GetByOrgHandle(ctx, o, h)) },
		byIDs: func(ctx context.Context, ids []int64) ([]*row, error) {
			as, err := r.GetByIDs(ctx, ids)
			return many(fromV2, as, err)
		},
		byEmails: func(ctx context.Context, es []string) ([]*row, error) {
			as, err := r.GetByEmails(ctx, es)
			return many(fromV2, as, err)
		},
		all: func(ctx context.Context) ([]*row, error) {
			as, err := r.All(ctx)
			out := make([]*row, len(as))
			for i := range as {
				out[i] = fromV2(as[i])
			}
			return out, err
		},
		stats: r.Stats,
	}
}

// world is one pair running both builds on one table, store and prefix.
type world struct {
	db     *sqlx.DB
	r1     *v1.AccountRepo
	r2     *v2.AccountRepo
	builds []build
	// every value a lookup was ever made with: each is asked of every
	// build at every check, so stale copies and stale not-founds show
	ids    []int64
	emails []string
	groups [][2]any
}

// stillClock is the build board's clock in these tests: time stands
// still, so each build announces itself once, at its first use, and no
// announcement lapses mid-test. A lapse changes the board's epoch, and the
// values filled before it turn into misses: on the wall clock the final
// check that v2 alone reads from the cache failed when a heartbeat fell
// between its two rounds. (The board's own timing is tested in
// internal/openworld/indexsets.)
type stillClock struct{ now time.Time }

func (c stillClock) Now() time.Time                                   { return c.now }
func (c stillClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
func (c stillClock) Go(f func())                                      { f() }

func each(t *testing.T, test func(t *testing.T, w *world)) {
	open := func(t *testing.T, db *sqlx.DB, dialect string, store runtime.Store, opts ...runtime.Option) {
		db.MustExec(schemas[dialect])
		opts = append(opts, engine.WithBuildClock(stillClock{now: time.Now()}))
		r1, err := v1.NewAccountRepo(db, store, opts...)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := v2.NewAccountRepo(db, store, opts...)
		if err != nil {
			t.Fatal(err)
		}
		test(t, &world{db: db, r1: r1, r2: r2, builds: []build{build1(r1), build2(r2)}})
	}
	for _, p := range pairs.All() {
		t.Run(p.Name, func(t *testing.T) {
			db, _ := p.DB(t)
			prefix := dbtest.UniqueName()
			open(t, db, p.Dialect, p.Store(t, prefix), runtime.WithPrefix(prefix))
		})
	}
	// Both builds in one process share its near cache, whose announcements
	// must drop what either build kept.
	t.Run("postgres+redis+near", func(t *testing.T) {
		db, _ := dbtest.OpenPostgres(t)
		prefix := dbtest.UniqueName()
		store, near := pairs.RedisNear(t, prefix)
		open(t, db, "postgres", store, runtime.WithPrefix(prefix), runtime.WithNearCache(near))
	})
}

// dbRows is what the database holds: the oracle.
func (w *world) dbRows(t *testing.T) []*row {
	t.Helper()
	var out []*row
	rs, err := w.db.Query(`SELECT id, email, note, org, handle, balance FROM accounts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		r := new(row)
		if err := rs.Scan(&r.ID, &r.Email, &r.Note, &r.Org, &r.Handle, &r.Balance); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *world) probe(r *row) {
	if !slices.Contains(w.ids, r.ID) {
		w.ids = append(w.ids, r.ID)
	}
	if !slices.Contains(w.emails, r.Email) {
		w.emails = append(w.emails, r.Email)
	}
	if g := [2]any{r.Org, r.Handle}; !slices.Contains(w.groups, g) {
		w.groups = append(w.groups, g)
	}
}

// agree asks every build every lookup ever made, single and batch, and All,
// and compares each answer with the database's.
func (w *world) agree(t *testing.T, step string) {
	t.Helper()
	ctx := context.Background()
	held := w.dbRows(t)
	find := func(match func(*row) bool) *row {
		for _, r := range held {
			if match(r) {
				return r
			}
		}
		return nil
	}
	for _, b := range w.builds {
		same := func(what string, got, want *row, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %s %s: %v", step, b.name, what, err)
			}
			if want != nil && b.noteless {
				c := *want
				c.Note = sql.NullString{}
				want = &c
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %s %s = %s, the database holds %s", step, b.name, what, show(got), show(want))
			}
		}
		for _, id := range w.ids {
			got, err := b.byID(ctx, id)
			same(fmt.Sprintf("GetByID(%d)", id), got, find(func(r *row) bool { return r.ID == id }), err)
		}
		for _, e := range w.emails {
			got, err := b.byEmail(ctx, e)
			same(fmt.Sprintf("GetByEmail(%q)", e), got, find(func(r *row) bool { return r.Email == e }), err)
		}
		for _, g := range w.groups {
			org, handle := g[0].(int64), g[1].(string)
			got, err := b.byGroup(ctx, org, handle)
			same(fmt.Sprintf("GetByOrgHandle(%d, %q)", org, handle), got,
				find(func(r *row) bool { return r.Org == org && r.Handle == handle }), err)
		}
		rows, err := b.byIDs(ctx, w.ids)
		for k, id := range w.ids {
			same(fmt.Sprintf("GetByIDs(…%d…)", id), at(rows, k), find(func(r *row) bool { return r.ID == id }), err)
		}
		rows, err = b.byEmails(ctx, w.emails)
		for k, e := range w.emails {
			same(fmt.Sprintf("GetByEmails(…%q…)", e), at(rows, k), find(func(r *row) bool { return r.Email == e }), err)
		}
		all, err := b.all(ctx)
		if err != nil {
			t.Fatalf("%s: %s All: %v", step, b.name, err)
		}
		if len(all) != len(held) {
			t.Fatalf("%s: %s All has %d rows, the database %d", step, b.name, len(all), len(held))
		}
		for k := range all {
			same("All", all[k], held[k], nil)
		}
	}
}

func at(rows []*row, k int) *row {
	if k < len(rows) {
		return rows[k]
	}
	return nil
}

func show(r *row) string {
	if r == nil {
		return "no row"
	}
	return fmt.Sprintf("%+v", *r)
}

// TestTwoBuildsSeeEachOthersWrites: inserts, updates that move unique
// values, and deletes by either build are seen at once by the other build
// by primary key, by each unique index, in batches and in All; a
// read-modify-write through the old build after a write by the new one
// loses nothing.
func TestTwoBuildsSeeEachOthersWrites(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		a := &v1.Account{Email: "a@x", Org: 1, Handle: "h", Balance: 10}
		if err := w.r1.Save(ctx, a); err != nil {
			t.Fatal(err)
		}
		b := &v2.Account{Email: "b@x", Note: sql.NullString{String: "nb", Valid: true}, Org: 1, Handle: "k", Balance: 5}
		if err := w.r2.Save(ctx, b); err != nil {
			t.Fatal(err)
		}
		w.probe(fromV1(a))
		w.probe(fromV2(b))
		// values no row holds yet: both builds cache them as not found
		w.probe(&row{ID: b.ID + 1, Email: "c@x", Org: 2, Handle: "c"})
		w.probe(&row{ID: 1 << 40, Email: "a2@x", Org: 1, Handle: "h2"})
		w.agree(t, "after the inserts")
		w.agree(t, "read again") // every answer now comes from the caches

		// The new build moves a's unique values and sets the column the old
		// build does not know.
		a2 := &v2.Account{ID: a.ID, Email: "a2@x", Note: sql.NullString{String: "na", Valid: true}, Org: 1, Handle: "h2", Balance: 20}
		if err := w.r2.Save(ctx, a2); err != nil {
			t.Fatal(err)
		}
		w.agree(t, "after v2 moved a's unique values")

		// Read-modify-write through the old build.
		old, err := w.r1.GetByID(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		old.Balance += 5
		if err := w.r1.Save(ctx, old); err != nil {
			t.Fatal(err)
		}
		var balance int64
		if err := w.db.Get(&balance, w.db.Rebind(`SELECT balance FROM accounts WHERE id = ?`), a.ID); err != nil {
			t.Fatal(err)
		}
		if balance != 25 {
			t.Fatalf("v1 added 5 to the balance of 20 that v2 wrote: the database holds %d (an update was lost)", balance)
		}
		w.agree(t, "after v1's read-modify-write")

		// The old build moves b onto the values a gave up.
		b1 := &v1.Account{ID: b.ID, Email: "a@x", Org: 1, Handle: "h", Balance: 6}
		if err := w.r1.Save(ctx, b1); err != nil {
			t.Fatal(err)
		}
		w.agree(t, "after v1 moved b onto a's old values")

		// Inserts of values both builds cached as not found.
		c := &v2.Account{Email: "c@x", Org: 2, Handle: "c", Balance: 1}
		if err := w.r2.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
		w.probe(fromV2(c))
		w.agree(t, "after v2 inserted c")

		if err := w.r1.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		w.agree(t, "after v1 deleted c")
		if err := w.r2.Delete(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		w.agree(t, "after v2 deleted a")

		// The old build is gone: the new one's repeated reads are hits
		// again, whatever the old one left in the store. (Only lookups of
		// rows that exist: MySQL's text lookups never cache a not-found.)
		w.builds = w.builds[1:]
		w.ids, w.emails, w.groups = nil, nil, nil
		for _, r := range w.dbRows(t) {
			w.probe(r)
		}
		w.agree(t, "only v2 reads")
		before := w.r2.Stats()
		w.agree(t, "only v2 reads again")
		if after := w.r2.Stats(); after.DBReads != before.DBReads {
			t.Fatalf("v2 alone read the database %d times on reads it had filled: %+v", after.DBReads-before.DBReads, after)
		}
	})
}
