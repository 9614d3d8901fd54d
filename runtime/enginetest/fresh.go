package enginetest

import (
	"context"
	"testing"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/store"
)

// Reads under runtime.Fresh(ctx) go to the database and leave the cache as
// it was.
var freshTests = []test{
	{"FreshReadSeesRawWrite", testFreshReadSeesRawWrite},
	{"FreshReadInJoinedTx", testFreshReadInJoinedTx},
}

// userReads are every way a repository reads a user: single, batch, All
// and the related-object loaders.
func userReads(t *testing.T, repos *model.Repos, u *model.User, p *model.Post) map[string]func(ctx context.Context) (string, error) {
	t.Helper()
	one := func(got *model.User, err error) (string, error) {
		if err != nil {
			return "", err
		}
		return got.Name, nil
	}
	many := func(got []*model.User, err error) (string, error) {
		if err != nil {
			return "", err
		}
		if len(got) != 1 || got[0] == nil {
			t.Fatalf("batch read returned %v", got)
		}
		return got[0].Name, nil
	}
	users := repos.Users
	return map[string]func(ctx context.Context) (string, error){
		"GetByID":          func(ctx context.Context) (string, error) { return one(users.GetByID(ctx, u.ID)) },
		"GetByEmail":       func(ctx context.Context) (string, error) { return one(users.GetByEmail(ctx, u.Email)) },
		"GetByOrgIDHandle": func(ctx context.Context) (string, error) { return one(users.GetByOrgIDHandle(ctx, u.OrgID, u.Handle)) },
		"GetByIDs":         func(ctx context.Context) (string, error) { return many(users.GetByIDs(ctx, []int64{u.ID})) },
		"GetByEmails":      func(ctx context.Context) (string, error) { return many(users.GetByEmails(ctx, []string{u.Email})) },
		"LoadAuthor":       func(ctx context.Context) (string, error) { return one(repos.Posts.LoadAuthor(ctx, p)) },
		"LoadAuthors": func(ctx context.Context) (string, error) {
			return many(repos.Posts.LoadAuthors(ctx, []*model.Post{p}))
		},
		"All": func(ctx context.Context) (string, error) {
			all, err := users.All(ctx)
			if err != nil {
				return "", err
			}
			for _, row := range all {
				if row.ID == u.ID {
					return row.Name, nil
				}
			}
			t.Fatalf("All returned no row %d: %+v", u.ID, all)
			return "", nil
		},
	}
}

// testFreshReadSeesRawWrite: after a write the repositories did not make,
// every read under runtime.Fresh returns the database's row while the
// cached reads still return the cached copy, which fresh reads leave as it
// was: they fill nothing.
func testFreshReadSeesRawWrite(t *testing.T, e *env) {
	ctx := context.Background()
	repos := newRepos(t, e)
	u := &model.User{Email: "fresh@x.org", OrgID: 1, Handle: "fresh", Name: "cached"}
	if err := repos.Users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	p := &model.Post{AuthorID: u.ID, Slug: "fresh", Title: "t", Body: "b"}
	if err := repos.Posts.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	reads := userReads(t, repos, u, p)
	for name, read := range reads { // fill the cache
		if got, err := read(ctx); err != nil || got != "cached" {
			t.Fatalf("%s, warming: %q, %v", name, got, err)
		}
	}
	e.db.MustExec(e.db.Rebind("UPDATE users SET name = ? WHERE id = ?"), "written by hand", u.ID)
	before := repos.Users.Stats()
	fresh := runtime.Fresh(ctx)
	for name, read := range reads {
		if got, err := read(fresh); err != nil || got != "written by hand" {
			t.Errorf("%s, fresh: %q, %v; want the database's row", name, got, err)
		}
	}
	after := repos.Users.Stats()
	if after.Fills != before.Fills || cacheHits(after) != cacheHits(before) {
		t.Errorf("fresh reads used the cache: %d fills and %d hits, want none",
			after.Fills-before.Fills, cacheHits(after)-cacheHits(before))
	}
	if after.DBReads-before.DBReads != uint64(len(reads)) {
		t.Errorf("fresh reads made %d database reads, want %d", after.DBReads-before.DBReads, len(reads))
	}
	for name, read := range reads {
		if got, err := read(ctx); err != nil || got != "cached" {
			t.Errorf("%s, cached: %q, %v; want the cached copy, which a fresh read leaves as it was", name, got, err)
		}
	}
}

// testFreshReadInJoinedTx: inside a joined transaction a fresh read sees
// the transaction's own uncommitted write, like every read there, and no
// read inside it fills the cache; after the rollback reads see the old row.
func testFreshReadInJoinedTx(t *testing.T, e *env) {
	ctx := context.Background()
	repos := newRepos(t, e)
	u := &model.User{Email: "ftx@x.org", OrgID: 1, Handle: "ftx", Name: "committed"}
	if err := repos.Users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	p := &model.Post{AuthorID: u.ID, Slug: "ftx", Title: "t", Body: "b"}
	if err := repos.Posts.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	key := userKey(t, e, u.ID) // cached now
	other := mustSaveUser(t, e, "ftx2@x.org", 1, "ftx2")
	otherKey := userKey(t, e, other.ID)
	if err := repos.Users.InvalidateByPK(ctx, other.ID); err != nil { // not cached
		t.Fatal(err)
	}
	tx, err := e.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	joined := runtime.Join(tx)
	defer joined.Rollback()
	inTx := &model.Repos{Users: repos.Users.WithTx(joined), Posts: repos.Posts.WithTx(joined)}
	changed := *u
	changed.Name = "uncommitted"
	if err := inTx.Users.Save(ctx, &changed); err != nil {
		t.Fatal(err)
	}
	before := repos.Users.Stats()
	for name, read := range userReads(t, inTx, u, p) {
		for _, c := range []context.Context{runtime.Fresh(ctx), ctx} {
			if got, err := read(c); err != nil || got != "uncommitted" {
				t.Errorf("%s in the transaction (fresh: %v): %q, %v; want its own write", name, runtime.IsFresh(c), got, err)
			}
		}
	}
	// A row the transaction changed with a statement of its own, and did
	// not invalidate, holds no lock: only the transaction keeps it out of
	// the cache.
	if _, err := tx.ExecContext(ctx, e.db.Rebind("UPDATE users SET name = ? WHERE id = ?"), "uncommitted too", other.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []context.Context{runtime.Fresh(ctx), ctx} {
		if got, err := inTx.Users.GetByID(c, other.ID); err != nil || got.Name != "uncommitted too" {
			t.Errorf("unlocked row in the transaction (fresh: %v): %+v, %v; want its own write", runtime.IsFresh(c), got, err)
		}
	}
	keyHolds(t, e, otherKey, store.Absent, "after reading an unlocked row in the transaction")
	if s := repos.Users.Stats(); s.Fills != before.Fills || cacheHits(s) != cacheHits(before) {
		t.Errorf("reads in the transaction used the cache: %d fills, %d hits", s.Fills-before.Fills, cacheHits(s)-cacheHits(before))
	}
	keyHolds(t, e, key, store.Locked, "after reads in the transaction")
	got, err := repos.Users.GetByID(runtime.Fresh(ctx), u.ID)
	if err != nil || got.Name != "committed" {
		t.Fatalf("fresh read outside the transaction: %+v, %v; want the committed row", got, err)
	}
	if err := joined.Rollback(); err != nil {
		t.Fatal(err)
	}
	keyHolds(t, e, key, store.Absent, "after the rollback")
	wantName(t, ctx, e, u.ID, "committed", "after the rollback")
	wantName(t, ctx, e, other.ID, "ftx2", "after the rollback")
	all, err := repos.Users.All(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "committed" {
		t.Fatalf("All after the rollback: %+v, %v", all, err)
	}
}
