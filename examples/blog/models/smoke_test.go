package models_test

import (
	"context"
	"errors"
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
