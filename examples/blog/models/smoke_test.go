package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
)

// TestSmoke: the example's repositories on SQLite and the in-memory store
// save, read (a miss, then a hit), load an author and delete. The runtime's
// behaviour on every database and store is checked by runtime/enginetest.
func TestSmoke(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.OpenSQLite(t)
	db.MustExec(models.SQLiteSchema)
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	repos, err := models.NewRepos(db, store, runtime.WithVerify())
	if err != nil {
		t.Fatal(err)
	}
	ada := &models.User{Email: "ada@example.com", OrgID: 1, Handle: "ada", Name: "Ada"}
	if err := repos.Users.Save(ctx, ada); err != nil {
		t.Fatal(err)
	}
	post := &models.Post{AuthorID: ada.ID, Slug: "engine", Title: "Notes", Body: "…"}
	if err := repos.Posts.Save(ctx, post); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got, err := repos.Users.GetByEmail(ctx, "ada@example.com"); err != nil || got.ID != ada.ID {
			t.Fatalf("GetByEmail: %+v, %v", got, err)
		}
	}
	if s := repos.Users.Stats(); s.Misses != 1 || s.Hits != 1 {
		t.Fatalf("two reads: %d misses and %d hits, want 1 and 1", s.Misses, s.Hits)
	}
	if author, err := repos.Posts.LoadAuthor(ctx, post); err != nil || author.Name != "Ada" {
		t.Fatalf("LoadAuthor: %+v, %v", author, err)
	}
	if err := repos.Posts.Delete(ctx, post.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := repos.Posts.GetBySlug(ctx, "engine"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("GetBySlug after Delete: %v, want runtime.ErrNotFound", err)
	}
}

// TestValidator: the generated Validator, differential against the
// database: a repository with no store reads every row from the database,
// so its validator is the database's; the cached one must equal it after
// each write, whatever the cache held before.
func TestValidator(t *testing.T) {
	ctx := context.Background()
	db, count := dbtest.OpenSQLite(t)
	db.MustExec(models.SQLiteSchema)
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	cached, err := models.NewUserRepo(db, store)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := models.NewUserRepo(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	ada := &models.User{Email: "ada@example.com", OrgID: 1, Handle: "ada", Name: "Ada"}
	if err := cached.Save(ctx, ada); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	check := func(step string) string {
		t.Helper()
		want, err := direct.Validator(direct.GetByID(ctx, ada.ID))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // a fill, then a hit
			got, err := cached.Validator(cached.GetByID(ctx, ada.ID))
			if err != nil || got.String() != want.String() {
				t.Fatalf("%s: validator %q, %v; the database's row gives %q", step, got, err, want)
			}
		}
		return want.String()
	}
	first := check("after insert")
	seen[first] = true
	count.Reset()
	if _, err := cached.Validator(cached.GetByID(ctx, ada.ID)); err != nil || count.Queries() != 0 {
		t.Errorf("validator of a cached row: %v, %d queries, want 0", err, count.Queries())
	}
	for _, name := range []string{"Ada L.", "Ada Lovelace", "Ada"} {
		ada.Name = name
		if err := cached.Save(ctx, ada); err != nil {
			t.Fatal(err)
		}
		v := check("after saving " + name)
		if name == "Ada" {
			if v != first {
				t.Errorf("the same row again has validator %q, first %q", v, first)
			}
		} else if seen[v] {
			t.Errorf("saving %q gave a validator already seen: %q", name, v)
		}
		seen[v] = true
	}
	// A write the repository did not make, then Invalidate.
	db.MustExec(`UPDATE users SET name = 'Countess' WHERE id = ?`, ada.ID)
	if err := cached.InvalidateByPK(ctx, ada.ID); err != nil {
		t.Fatal(err)
	}
	if v := check("after a raw UPDATE and Invalidate"); seen[v] {
		t.Errorf("raw UPDATE kept an old validator %q", v)
	}
	if err := cached.Delete(ctx, ada.ID); err != nil {
		t.Fatal(err)
	}
	if v, err := cached.Validator(cached.GetByID(ctx, ada.ID)); err != nil || v.String() != runtime.NoRow {
		t.Errorf("deleted row: %q, %v, want runtime.NoRow", v, err)
	}
	if _, err := cached.Validator(nil, errors.New("store and database down")); err == nil {
		t.Error("a getter's error did not come back")
	}
}

// TestMariaDBUpdateTakesGuard: on the MariaDB schema the benchmark uses
// (email and handle under the database's default collation, a _ci PAD
// SPACE one), an update that keeps its unique values is the guarded UPDATE
// alone: the guard compares the text columns as bytes, so their loose
// collation does not send it down the locked read.
func TestMariaDBUpdateTakesGuard(t *testing.T) {
	ctx := context.Background()
	db, count := dbtest.OpenMySQL(t)
	for _, s := range models.MySQLSchema {
		db.MustExec(s)
	}
	var coll string
	if err := db.Get(&coll, "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME = 'email'"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(coll, "_ci") {
		t.Fatalf("users.email has collation %s: not the loose one this test is about", coll)
	}
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	users, err := models.NewUserRepo(db, store)
	if err != nil {
		t.Fatal(err)
	}
	u := &models.User{Email: "ada@example.com", OrgID: 1, Handle: "ada", Name: "Ada"}
	if err := users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.Name = "Ada L." // the first update reads the catalog, once per table
	if err := users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ada Lovelace", "A. Lovelace"} {
		count.Reset()
		u.Name = name
		if err := users.Save(ctx, u); err != nil {
			t.Fatal(err)
		}
		if q, e := count.Queries(), count.Execs(); q != 0 || e != 1 {
			t.Errorf("update keeping email %q (%s): %d queries and %d statements, want the guarded UPDATE alone (0 and 1)", u.Email, coll, q, e)
		}
	}
}
