package enginetest

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/store"
)

// Repositories joined to a transaction the application began (runtime.Join,
// runtime.JoinSQL): the keys its writes change stay locked until it ends,
// however it ends, and reads inside it, loaders included, see it.
var joinTests = slices.Concat(
	forJoins("JoinCommit", testJoinCommit),
	forJoins("JoinRollback", testJoinRollback),
	forJoins("JoinPanic", testJoinPanic),
	forJoins("JoinRawCommit", testJoinRawCommit),
	[]test{{"JoinedLoadersSeeTheTx", testJoinedLoadersSeeTheTx}},
)

// appTx is what an application holds of the transaction it began: a
// *sqlx.Tx or a *sql.Tx.
type appTx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	Commit() error
	Rollback() error
}

// joiner begins a transaction the way an application does and joins it.
type joiner struct {
	name  string
	begin func(t *testing.T, e *env) (appTx, *runtime.Tx)
}

var joiners = []joiner{
	{"sqlx", func(t *testing.T, e *env) (appTx, *runtime.Tx) {
		tx, err := e.db.BeginTxx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return tx, runtime.Join(tx)
	}},
	{"database-sql", func(t *testing.T, e *env) (appTx, *runtime.Tx) {
		tx, err := e.db.DB.BeginTx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return tx, runtime.JoinSQL(e.db, tx)
	}},
}

// forJoins makes run a case per joiner, named name/<joiner>, each on an
// env of its own.
func forJoins(name string, run func(t *testing.T, e *env, j joiner)) []test {
	var out []test
	for _, j := range joiners {
		out = append(out, test{name + "/" + j.name, func(t *testing.T, e *env) { run(t, e, j) }})
	}
	return out
}

// keyHolds fails unless the store holds an entry of kind want under key.
func keyHolds(t *testing.T, e *env, key string, want store.Kind, when string) {
	t.Helper()
	got, err := e.store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != want {
		t.Fatalf("%s: the store holds %v under %s, want %v", when, got.Kind, key, want)
	}
}

// wantName fails unless the user read by id has name.
func wantName(t *testing.T, ctx context.Context, e *env, id int64, name, when string) {
	t.Helper()
	got, err := e.users.GetByID(ctx, id)
	if err != nil || got.Name != name {
		t.Fatalf("%s: read %+v, %v; want name %q", when, got, err, name)
	}
}

// testJoinCommit: repositories join a transaction the application began;
// the keys its writes change stay locked until the wrapper's Commit, and
// reads after it see the new rows, its own statements' rows included.
func testJoinCommit(t *testing.T, e *env, j joiner) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "jc@x.org", 1, "jc")
	other := mustSaveUser(t, e, "jc2@x.org", 1, "jc2")
	key, otherKey := userKey(t, e, u.ID), userKey(t, e, other.ID) // both cached now
	raw, tx := j.begin(t, e)
	defer tx.Rollback()
	changed := *u
	changed.Name = "committed"
	if err := e.users.WithTx(tx).Save(ctx, &changed); err != nil {
		t.Fatal(err)
	}
	// The application's own statement, invalidated through the joined repository.
	if _, err := raw.ExecContext(ctx, e.db.Rebind("UPDATE users SET name = ? WHERE id = ?"), "by the app", other.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.users.WithTx(tx).InvalidateByPK(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	keyHolds(t, e, key, store.Locked, "before commit")
	keyHolds(t, e, otherKey, store.Locked, "before commit")
	wantName(t, ctx, e, u.ID, "jc", "outside, before commit")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	keyHolds(t, e, key, store.Absent, "after commit")
	keyHolds(t, e, otherKey, store.Absent, "after commit")
	wantName(t, ctx, e, u.ID, "committed", "after commit")
	wantName(t, ctx, e, other.ID, "by the app", "after commit")
	hits := cacheHits(e.users.Stats())
	wantName(t, ctx, e, u.ID, "committed", "after commit, again")
	if cacheHits(e.users.Stats()) != hits+1 {
		t.Fatal("the row read after commit was not cached")
	}
}

// testJoinRollback: after the wrapper's Rollback the keys are reopened and
// reads see the old rows.
func testJoinRollback(t *testing.T, e *env, j joiner) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "jr@x.org", 1, "jr")
	key := userKey(t, e, u.ID)
	_, tx := j.begin(t, e)
	changed := *u
	changed.Name = "rolled back"
	if err := e.users.WithTx(tx).Save(ctx, &changed); err != nil {
		t.Fatal(err)
	}
	keyHolds(t, e, key, store.Locked, "before rollback")
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	keyHolds(t, e, key, store.Absent, "after rollback")
	wantName(t, ctx, e, u.ID, "jr", "after rollback")
	keyHolds(t, e, key, store.CachedRow, "after a read that follows the rollback")
	wantName(t, ctx, e, u.ID, "jr", "after rollback, again")
}

// testJoinPanic: a panic in the application's code after a joined write
// still releases the keys, through the Rollback it deferred, and the row
// stays as it was.
func testJoinPanic(t *testing.T, e *env, j joiner) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "jp@x.org", 1, "jp")
	key := userKey(t, e, u.ID)
	var locked store.Kind
	func() {
		defer func() {
			if p := recover(); p != "application bug" {
				t.Fatalf("recovered %v", p)
			}
		}()
		_, tx := j.begin(t, e)
		defer tx.Rollback()
		changed := *u
		changed.Name = "never"
		if err := e.users.WithTx(tx).Save(ctx, &changed); err != nil {
			t.Fatal(err)
		}
		entry, err := e.store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		locked = entry.Kind
		panic("application bug")
	}()
	if locked != store.Locked {
		t.Fatalf("the write did not lock its key: %v", locked)
	}
	keyHolds(t, e, key, store.Absent, "after the panic")
	wantName(t, ctx, e, u.ID, "jp", "after the panic")
	keyHolds(t, e, key, store.CachedRow, "after a read that follows the panic")
}

// testJoinRawCommit: an application that commits the raw transaction has
// its keys stay locked (readers go to the database, and see the commit)
// until it ends the wrapper too, which reports sql.ErrTxDone and releases
// them.
func testJoinRawCommit(t *testing.T, e *env, j joiner) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "jraw@x.org", 1, "jraw")
	key := userKey(t, e, u.ID)
	raw, tx := j.begin(t, e)
	changed := *u
	changed.Name = "raw commit"
	if err := e.users.WithTx(tx).Save(ctx, &changed); err != nil {
		t.Fatal(err)
	}
	if err := raw.Commit(); err != nil {
		t.Fatal(err)
	}
	keyHolds(t, e, key, store.Locked, "after the raw commit")
	wantName(t, ctx, e, u.ID, "raw commit", "after the raw commit")
	if err := tx.Commit(); !errors.Is(err, sql.ErrTxDone) {
		t.Fatalf("the wrapper's Commit after the raw one returned %v, want sql.ErrTxDone", err)
	}
	keyHolds(t, e, key, store.Absent, "after the wrapper's Commit")
	wantName(t, ctx, e, u.ID, "raw commit", "after the wrapper's Commit")
	keyHolds(t, e, key, store.CachedRow, "after a read that follows the wrapper's Commit")
}

// newRepos builds the model's repositories on e's database and store,
// with e's options, wired for the loaders.
func newRepos(t *testing.T, e *env) *model.Repos {
	t.Helper()
	repos, err := model.NewRepos(e.db, e.store, e.opts...)
	if err != nil {
		t.Fatal(err)
	}
	return repos
}

// testJoinedLoadersSeeTheTx: a loader called on a repository joined to a
// transaction reads the related rows through the transaction too, so it
// sees the transaction's own write (and, like every read there, fills
// nothing).
func testJoinedLoadersSeeTheTx(t *testing.T, e *env) {
	ctx := context.Background()
	repos := newRepos(t, e)
	u := &model.User{Email: "jl@x.org", OrgID: 1, Handle: "jl", Name: "committed"}
	if err := repos.Users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	p := &model.Post{AuthorID: u.ID, Slug: "jl", Title: "t", Body: "b"}
	if err := repos.Posts.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	tx, err := e.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	joined := runtime.Join(tx)
	defer joined.Rollback()
	changed := *u
	changed.Name = "uncommitted"
	if err := repos.Users.WithTx(joined).Save(ctx, &changed); err != nil {
		t.Fatal(err)
	}
	posts := repos.Posts.WithTx(joined)
	if a, err := posts.LoadAuthor(ctx, p); err != nil || a.Name != "uncommitted" {
		t.Errorf("LoadAuthor in the transaction: %+v, %v; want its own write", a, err)
	}
	if as, err := posts.LoadAuthors(ctx, []*model.Post{p}); err != nil || len(as) != 1 || as[0].Name != "uncommitted" {
		t.Errorf("LoadAuthors in the transaction: %+v, %v; want its own write", as, err)
	}
}
