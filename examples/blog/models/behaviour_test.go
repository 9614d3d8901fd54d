package models_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/jmoiron/sqlx"
)

// env is one database + store pair with the example's repositories on it.
type env struct {
	db      *sqlx.DB
	count   *dbtest.Counter
	store   runtime.Store
	users   *models.UserRepo
	posts   *models.PostRepo
	dialect runtime.Dialect
	prefix  string             // of every key, unique to the test
	near    *runtime.NearCache // nil unless the pair has one
}

// cacheHits counts the reads a cache answered: the store or the near cache.
func cacheHits(s runtime.Stats) uint64 { return s.Hits + s.NearHits }

func newEnv(t *testing.T, db *sqlx.DB, count *dbtest.Counter, store runtime.Store, prefix string, opts ...runtime.Option) *env {
	t.Helper()
	opts = append([]runtime.Option{runtime.WithPrefix(prefix)}, opts...)
	users, err := models.NewUserRepo(db, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	posts, err := models.NewPostRepo(db, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	dialect, err := runtime.DialectOf(db.DriverName())
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, count: count, store: store, users: users, posts: posts, dialect: dialect, prefix: prefix}
}

func forEachPair(t *testing.T, test func(t *testing.T, e *env)) {
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) { test(t, p.open(t)) })
	}
}

func mustSaveUser(t *testing.T, e *env, email string, org int64, handle string) *models.User {
	t.Helper()
	u := &models.User{Email: email, OrgID: org, Handle: handle, Name: handle}
	if err := e.users.Save(context.Background(), u); err != nil {
		t.Fatalf("save %s: %v", email, err)
	}
	if u.ID == 0 {
		t.Fatalf("save %s: no id written back", email)
	}
	return u
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, runtime.ErrNotFound) || !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("%s: got %v, want an error matching runtime.ErrNotFound and sql.ErrNoRows", what, err)
	}
}

func TestReadAfterSave(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := mustSaveUser(t, e, "a@x.org", 1, "a")
		for i := 0; i < 2; i++ {
			got, err := e.users.GetByID(ctx, u.ID)
			if err != nil || got.Email != "a@x.org" {
				t.Fatalf("read %d: %+v, %v", i, got, err)
			}
		}
		s := e.users.Stats()
		if cacheHits(s) != 1 || s.Misses != 1 || s.Fills != 1 {
			t.Fatalf("two reads: hits=%d misses=%d fills=%d, want 1 1 1", cacheHits(s), s.Misses, s.Fills)
		}
		u.Name = "renamed"
		if err := e.users.Save(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := e.users.GetByID(ctx, u.ID)
		if err != nil || got.Name != "renamed" {
			t.Fatalf("read after save: %+v, %v", got, err)
		}
		// The copy returned is the caller's own.
		got.Name = "scribbled"
		again, err := e.users.GetByID(ctx, u.ID)
		if err != nil || again.Name != "renamed" {
			t.Fatalf("read after caller mutation: %+v, %v", again, err)
		}
	})
}

func TestUniqueChange(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := mustSaveUser(t, e, "old@x.org", 7, "h")
		for i := 0; i < 2; i++ { // miss then hit, on every index
			if _, err := e.users.GetByEmail(ctx, "old@x.org"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.users.GetByOrgIDHandle(ctx, 7, "h"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.users.GetByEmail(ctx, "new@x.org"); err == nil {
			t.Fatal("new email found before the change")
		}
		u.Email, u.Handle = "new@x.org", "h2"
		if err := e.users.Save(ctx, u); err != nil {
			t.Fatal(err)
		}
		_, err := e.users.GetByEmail(ctx, "old@x.org")
		wantNotFound(t, "old email", err)
		_, err = e.users.GetByOrgIDHandle(ctx, 7, "h")
		wantNotFound(t, "old handle", err)
		got, err := e.users.GetByEmail(ctx, "new@x.org")
		if err != nil || got.ID != u.ID {
			t.Fatalf("new email: %+v, %v", got, err)
		}
		got, err = e.users.GetByOrgIDHandle(ctx, 7, "h2")
		if err != nil || got.Email != "new@x.org" {
			t.Fatalf("new handle: %+v, %v", got, err)
		}
	})
}

func TestDelete(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := mustSaveUser(t, e, "d@x.org", 3, "d")
		if _, err := e.users.GetByID(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.users.GetByEmail(ctx, u.Email); err != nil {
			t.Fatal(err)
		}
		if _, err := e.users.GetByOrgIDHandle(ctx, 3, "d"); err != nil {
			t.Fatal(err)
		}
		if err := e.users.Delete(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err := e.users.GetByID(ctx, u.ID)
		wantNotFound(t, "by id", err)
		_, err = e.users.GetByEmail(ctx, u.Email)
		wantNotFound(t, "by email", err)
		_, err = e.users.GetByOrgIDHandle(ctx, 3, "d")
		wantNotFound(t, "by org and handle", err)
		wantNotFound(t, "second delete", e.users.Delete(ctx, u.ID))
	})
}

func TestAllFollowsWrites(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		emails := func() []string {
			t.Helper()
			all, err := e.users.All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, u := range all {
				out = append(out, u.Email)
			}
			return out
		}
		if got := emails(); len(got) != 0 {
			t.Fatalf("empty table: %v", got)
		}
		a := mustSaveUser(t, e, "a@x.org", 1, "a")
		if got := fmt.Sprint(emails()); got != "[a@x.org]" {
			t.Fatalf("after insert: %s", got)
		}
		b := mustSaveUser(t, e, "b@x.org", 1, "b")
		if got := fmt.Sprint(emails()); got != "[a@x.org b@x.org]" {
			t.Fatalf("after second insert: %s", got)
		}
		before := e.users.Stats().Hits
		emails()
		if e.users.Stats().Hits != before+1 {
			t.Fatal("All was not served from the cache")
		}
		a.Email = "a2@x.org"
		if err := e.users.Save(ctx, a); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(emails()); got != "[a2@x.org b@x.org]" {
			t.Fatalf("after update: %s", got)
		}
		if err := e.users.Delete(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(emails()); got != "[a2@x.org]" {
			t.Fatalf("after delete: %s", got)
		}
	})
}

func TestCachedNotFoundThenInsert(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := 0; i < 2; i++ {
			_, err := e.users.GetByEmail(ctx, "later@x.org")
			wantNotFound(t, "before insert", err)
		}
		// MySQL's default collations compare text loosely, so a text miss is
		// only cached on the other dialects.
		wantHits, wantReads := uint64(1), uint64(1)
		if e.dialect == runtime.MySQL {
			wantHits, wantReads = 0, 2
		}
		if s := e.users.Stats(); cacheHits(s) != wantHits || s.DBReads != wantReads {
			t.Fatalf("two misses by email: hits=%d db_reads=%d, want %d and %d", cacheHits(s), s.DBReads, wantHits, wantReads)
		}
		u := mustSaveUser(t, e, "later@x.org", 1, "later")
		got, err := e.users.GetByEmail(ctx, "later@x.org")
		if err != nil || got.ID != u.ID {
			t.Fatalf("after insert: %+v, %v", got, err)
		}
		// The same for a primary key that does not exist yet.
		next := u.ID + 1
		_, err = e.users.GetByID(ctx, next)
		wantNotFound(t, "next id", err)
		v := mustSaveUser(t, e, "next@x.org", 1, "next")
		if v.ID != next {
			t.Fatalf("the database skipped id %d (got %d)", next, v.ID)
		}
		if got, err := e.users.GetByID(ctx, next); err != nil || got.Email != "next@x.org" {
			t.Fatalf("next id after insert: %+v, %v", got, err)
		}
	})
}

func TestRelatedNeverCached(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		author := mustSaveUser(t, e, "author-secret@x.org", 1, "author")
		p := &models.Post{AuthorID: author.ID, Slug: "s", Title: "T", Body: "B", Author: author}
		if err := e.posts.Save(ctx, p); err != nil {
			t.Fatal(err)
		}
		if p.Author != author {
			t.Fatal("Save changed the caller's related field")
		}
		for i := 0; i < 2; i++ { // the fill, then the hit
			got, err := e.posts.GetByID(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Author != nil {
				t.Fatalf("read %d returned a related object", i)
			}
		}
		if cacheHits(e.posts.Stats()) != 1 {
			t.Fatal("second read was not a hit")
		}
		entry, err := e.store.Get(ctx, postKey(t, e, p.ID))
		if err != nil || entry.Kind != runtime.Value {
			t.Fatalf("post not cached: %+v, %v", entry, err)
		}
		if bytes.Contains(entry.Value, []byte("author-secret")) {
			t.Fatal("the cached bytes of a post hold its author")
		}
	})
}

// postKey is the cache key of the post with the given id. A fresh repo
// built with the same prefix computes the same keys.
func postKey(t *testing.T, e *env, id int64) string {
	t.Helper()
	keys := recordKeys{Store: e.store}
	posts, err := models.NewPostRepo(e.db, &keys, runtime.WithPrefix(e.prefix))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := posts.GetByID(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	return keys.first
}

// userKey is the cache key of the user with the given id.
func userKey(t *testing.T, e *env, id int64) string {
	t.Helper()
	keys := recordKeys{Store: e.store}
	users, err := models.NewUserRepo(e.db, &keys, runtime.WithPrefix(e.prefix))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.GetByID(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	return keys.first
}

// plant stores value under key as if a reader had filled it.
func plant(t *testing.T, s runtime.Store, key string, value []byte) {
	t.Helper()
	ctx := context.Background()
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := s.Lease(ctx, key, "planted", time.Minute); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	if ok, err := s.Fill(ctx, key, "planted", runtime.Entry{Kind: runtime.Value, Value: value}, time.Minute); err != nil || !ok {
		t.Fatalf("fill: %v %v", ok, err)
	}
}

func TestCorruptValuesAreMisses(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := mustSaveUser(t, e, "c@x.org", 1, "c")
		key := userKey(t, e, u.ID) // also fills the key
		entry, err := e.store.Get(ctx, key)
		if err != nil || entry.Kind != runtime.Value {
			t.Fatalf("not filled: %+v %v", entry, err)
		}
		good := append([]byte(nil), entry.Value...)
		otherSchema := append([]byte{good[0], good[1] ^ 0xff, good[2], good[3], good[4]}, good[5:]...)
		// Bytes that would still decode to a row: another key's value, and
		// a flipped bit inside a string. The checksum binds a value to its
		// key and payload, so neither is served.
		other := mustSaveUser(t, e, "d@x.org", 1, "d")
		otherEntry, err := e.store.Get(ctx, userKey(t, e, other.ID))
		if err != nil || otherEntry.Kind != runtime.Value {
			t.Fatalf("other user not filled: %+v %v", otherEntry, err)
		}
		flipped := append([]byte(nil), good...)
		flipped[bytes.Index(flipped, []byte("c@x.org"))] ^= 0x01
		for name, bad := range map[string][]byte{
			"foreign":       []byte("someone else's value"),
			"other schema":  otherSchema,
			"truncated":     good[:len(good)-3],
			"trailing":      append(append([]byte(nil), good...), 0),
			"empty":         {},
			"another key's": append([]byte(nil), otherEntry.Value...),
			"bit flip":      flipped,
		} {
			plant(t, e.store, key, bad)
			if e.near != nil {
				// The store changed behind the bus: a process started now
				// would not have the good copy.
				e.near.Clear()
			}
			// Another build's value is counted apart: during a deploy it
			// is expected on every read the builds share.
			counted := func(s runtime.Stats) uint64 { return s.CorruptValues }
			if name == "other schema" {
				counted = func(s runtime.Stats) uint64 { return s.OtherSchema }
			}
			before := counted(e.users.Stats())
			got, err := e.users.GetByID(ctx, u.ID)
			if err != nil || got.Email != "c@x.org" {
				t.Fatalf("%s: read %+v, %v", name, got, err)
			}
			if counted(e.users.Stats()) == before {
				t.Errorf("%s: not counted", name)
			}
			after, err := e.store.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if after.Kind != runtime.Absent && !bytes.Equal(after.Value, good) {
				t.Fatalf("%s: the key still holds %v %q", name, after.Kind, after.Value)
			}
			if got, err := e.users.GetByID(ctx, u.ID); err != nil || got.Email != "c@x.org" {
				t.Fatalf("%s: second read %+v, %v", name, got, err)
			}
			if again, _ := e.store.Get(ctx, key); !bytes.Equal(again.Value, good) {
				t.Fatalf("%s: not refilled with the row: %v %q", name, again.Kind, again.Value)
			}
		}
	})
}

// recordKeys remembers the first key read through it.
type recordKeys struct {
	runtime.Store
	first string
}

func (r *recordKeys) Get(ctx context.Context, key string) (runtime.Entry, error) {
	if r.first == "" {
		r.first = key
	}
	return r.Store.Get(ctx, key)
}

// UpdateBoard passes the build board through: a repository on a store that
// hid it would write values of no epoch, which the others read as another
// build's.
func (r *recordKeys) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func([]byte) ([]byte, error)) error {
	b, ok := r.Store.(runtime.BoardStore)
	if !ok {
		return errors.New("the store holds no build board")
	}
	return b.UpdateBoard(ctx, key, keep, fn)
}

func TestConcurrentMissesOneQuery(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := mustSaveUser(t, e, "herd@x.org", 1, "herd")
		e.count.Reset()
		var start, done sync.WaitGroup
		start.Add(1)
		errs := make(chan error, 100)
		for i := 0; i < 100; i++ {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				got, err := e.users.GetByID(ctx, u.ID)
				if err == nil && got.Email != "herd@x.org" {
					err = fmt.Errorf("got %+v", got)
				}
				errs <- err
			}()
		}
		start.Done()
		done.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := e.count.Queries(); n != 1 {
			t.Fatalf("100 concurrent misses made %d database queries, want 1", n)
		}
	})
}

// TestConcurrentSavesOfOneUniqueValue: writers racing to insert the same
// unique value get the database's unique-violation error, never a silent
// overwrite, and the cache agrees with the one row that won.
func TestConcurrentSavesOfOneUniqueValue(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const writers = 8
		var wg sync.WaitGroup
		results := make(chan *models.User, writers)
		errs := make(chan error, writers)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := &models.User{Email: "race@x.org", OrgID: int64(100 + i), Handle: fmt.Sprint("h", i), Name: fmt.Sprint("writer ", i)}
				if err := e.users.Save(ctx, u); err != nil {
					errs <- err
					return
				}
				results <- u
			}()
		}
		wg.Wait()
		close(results)
		close(errs)
		if len(results) != 1 || len(errs) != writers-1 {
			t.Fatalf("%d saves succeeded and %d failed, want 1 and %d", len(results), len(errs), writers-1)
		}
		winner := <-results
		for err := range errs {
			if err == nil || errors.Is(err, runtime.ErrNotFound) {
				t.Fatalf("a losing writer got %v, want the database's unique violation", err)
			}
		}
		got, err := e.users.GetByEmail(ctx, "race@x.org")
		if err != nil || got.ID != winner.ID || got.Name != winner.Name {
			t.Fatalf("GetByEmail: %+v, %v; the winner was %+v", got, err, winner)
		}
		all, err := e.users.All(ctx)
		if err != nil || len(all) != 1 {
			t.Fatalf("All: %d rows, %v", len(all), err)
		}
	})
}

// TestUnfillableReadsDoNotWait: a read that may not fill (here All over its
// row cap) gives its lease back, so the next reader does not wait it out.
func TestUnfillableReadsDoNotWait(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mustSaveUser(t, e, "a@x.org", 1, "a")
		mustSaveUser(t, e, "b@x.org", 1, "b")
		capped, err := models.NewUserRepo(e.db, e.store, runtime.WithPrefix(e.prefix), runtime.WithAllCap(1), runtime.WithLeaseWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			all, err := capped.All(ctx)
			if err != nil || len(all) != 2 {
				t.Fatalf("All: %d rows, %v", len(all), err)
			}
		}
		s := capped.Stats()
		if s.AllOverCap != 3 || s.DBReads != 3 || s.LeaseWaits != 0 || s.Fills != 0 {
			t.Fatalf("over the cap: %+v, want 3 uncached reads and no lease waits", s)
		}
	})
}
