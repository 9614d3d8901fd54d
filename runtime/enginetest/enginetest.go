// Package enginetest is the runtime's own behaviour suite: the read and
// write protocol, transactions, the Invalidate calls, All, batches, loaders
// and faults, run through repositories generated from its own tagged model
// (package model) on a database and a store. Run runs it on one pair;
// enginetest_test.go runs it on every pair of internal/pairs.
package enginetest

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	cachestore "github.com/cachegen/cachegen/runtime/store"
	"github.com/jmoiron/sqlx"
)

// test is one behaviour, run on a fresh env.
type test struct {
	name string
	run  func(t *testing.T, e *env)
}

// suite lists every behaviour Run checks, by group.
func suite() []test {
	var all []test
	for _, group := range [][]test{tableTests, writeTests, txTests, joinTests, freshTests, invalidateTests, batchTests, relatedTests, faultTests} {
		all = append(all, group...)
	}
	return all
}

// Run checks the runtime's behaviour on the database and store of p, each
// behaviour a subtest on a database namespace, a store and a key prefix of
// its own; with p.Near set, the repositories read through a near cache.
func Run(t *testing.T, p pairs.Pair) {
	for _, c := range suite() {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t, p)) })
	}
}

// env is one database + store pair with the model's repositories on it.
type env struct {
	db      *sqlx.DB
	count   *dbtest.Counter
	store   runtime.Store
	users   *model.UserRepo
	posts   *model.PostRepo
	dialect runtime.Dialect
	prefix  string             // of every key, unique to the test
	near    *runtime.NearCache // nil unless the pair has one
	opts    []runtime.Option   // users and posts were made with
}

// open makes an env on a fresh database and store of p.
func open(t *testing.T, p pairs.Pair) *env {
	t.Helper()
	db, count := OpenDB(t, p)
	prefix := dbtest.UniqueName()
	store := p.Store(t, prefix)
	if p.Near == nil {
		return newEnv(t, db, count, store, prefix)
	}
	near := p.Near(t, prefix)
	e := newEnv(t, db, count, store, prefix, runtime.WithNearCache(near))
	e.near = near
	return e
}

// OpenDB opens a fresh namespace of p's database with the model's tables.
func OpenDB(t testing.TB, p pairs.Pair) (*sqlx.DB, *dbtest.Counter) {
	t.Helper()
	db, count := p.DB(t)
	CreateTables(t, db, p.Dialect)
	return db, count
}

// CreateTables creates the model's tables in db, whose dialect is named.
func CreateTables(t testing.TB, db *sqlx.DB, dialect string) {
	t.Helper()
	stmts, err := model.Schema(dialect)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, stmts...)
}

func newEnv(t *testing.T, db *sqlx.DB, count *dbtest.Counter, store runtime.Store, prefix string, opts ...runtime.Option) *env {
	t.Helper()
	// A write's store phase may take a while on a shared machine (a new
	// Cluster client's first call connects to a node): with the default
	// 50ms, a phase that runs out leaves its keys to the retry queue and
	// the next reads bypass the store, which the tests would count as
	// misses. Faults are injected by stores that fail, not by slowness.
	opts = append([]runtime.Option{runtime.WithPrefix(prefix), runtime.WithPhaseTimeout(5 * time.Second)}, opts...)
	users, err := model.NewUserRepo(db, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	posts, err := model.NewPostRepo(db, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	dialect, err := engine.DialectOf(db.DriverName())
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, count: count, store: store, users: users, posts: posts, dialect: dialect, prefix: prefix, opts: opts}
}

func mustExec(t testing.TB, db *sqlx.DB, stmts ...string) {
	t.Helper()
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
}

// cacheHits counts the reads a cache answered: the store or the near cache.
func cacheHits(s runtime.Stats) uint64 { return s.Hits + s.NearHits }

func mustSaveUser(t *testing.T, e *env, email string, org int64, handle string) *model.User {
	t.Helper()
	u := &model.User{Email: email, OrgID: org, Handle: handle, Name: handle}
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

// postKey is the cache key of the post with the given id. A fresh repo
// built with the same prefix computes the same keys.
func postKey(t *testing.T, e *env, id int64) string {
	t.Helper()
	keys := recordKeys{Store: e.store}
	posts, err := model.NewPostRepo(e.db, &keys, runtime.WithPrefix(e.prefix))
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
	users, err := model.NewUserRepo(e.db, &keys, runtime.WithPrefix(e.prefix))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.GetByID(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	return keys.first
}

// recordKeys remembers the first key read through it.
type recordKeys struct {
	runtime.Store
	first string
}

func (r *recordKeys) Get(ctx context.Context, key string) (cachestore.Entry, error) {
	if r.first == "" {
		r.first = key
	}
	return r.Store.Get(ctx, key)
}

// UpdateBoard passes the build board through: a repository on a store that
// hid it would write values of no epoch, which the others read as another
// build's.
func (r *recordKeys) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func([]byte) ([]byte, error)) error {
	b, ok := r.Store.(cachestore.BoardStore)
	if !ok {
		return errors.New("the store holds no build board")
	}
	return b.UpdateBoard(ctx, key, keep, fn)
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
	if ok, err := s.Fill(ctx, key, "planted", cachestore.Entry{Kind: cachestore.CachedRow, Value: value}, time.Minute); err != nil || !ok {
		t.Fatalf("fill: %v %v", ok, err)
	}
}
