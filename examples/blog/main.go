// Command blog runs cachegen's generated repositories end to end on an
// embedded SQLite database and the in-memory store: no server needed.
//
//	go run ./examples/blog
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "blog:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "cachegen-blog-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := sqlx.Open("sqlite", "file:"+filepath.Join(dir, "blog.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, models.SQLiteSchema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	store, err := memory.New(memory.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	users, err := models.NewUserRepo(db, store)
	if err != nil {
		return err
	}
	posts, err := models.NewPostRepo(db, store)
	if err != nil {
		return err
	}

	ada := &models.User{Email: "ada@example.com", OrgID: 1, Handle: "ada", Name: "Ada Lovelace"}
	if err := users.Save(ctx, ada); err != nil {
		return err
	}
	fmt.Printf("saved user %d (%s)\n", ada.ID, ada.Email)
	post := &models.Post{AuthorID: ada.ID, Slug: "engine", Title: "Notes on the Engine", Body: "…", Author: ada}
	if err := posts.Save(ctx, post); err != nil {
		return err
	}
	fmt.Printf("saved post %d (%s)\n", post.ID, post.Slug)

	for i := 1; i <= 2; i++ {
		u, err := users.GetByID(ctx, ada.ID)
		if err != nil {
			return err
		}
		p, err := posts.GetBySlug(ctx, "engine")
		if err != nil {
			return err
		}
		fmt.Printf("read %d: user %q, post %q (author loaded from cache: %v)\n", i, u.Name, p.Title, p.Author != nil)
	}
	report("after two reads", users, posts)

	ada.Email = "ada@analytical.org"
	if err := users.Save(ctx, ada); err != nil {
		return err
	}
	if _, err := users.GetByEmail(ctx, "ada@example.com"); errors.Is(err, runtime.ErrNotFound) {
		fmt.Println("old email: not found, as it should be")
	} else {
		return fmt.Errorf("old email still answers: %v", err)
	}
	u, err := users.GetByOrgIDHandle(ctx, 1, "ada")
	if err != nil {
		return err
	}
	fmt.Printf("by org and handle: %s\n", u.Email)

	if err := posts.Delete(ctx, post.ID); err != nil {
		return err
	}
	if _, err := posts.GetByID(ctx, post.ID); errors.Is(err, runtime.ErrNotFound) {
		fmt.Println("deleted post: not found")
	} else {
		return fmt.Errorf("deleted post still answers: %v", err)
	}
	all, err := users.All(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("all users: %d\n", len(all))
	report("at the end", users, posts)
	return nil
}

func report(when string, users *models.UserRepo, posts *models.PostRepo) {
	for _, r := range []struct {
		name string
		s    runtime.Stats
	}{{"users", users.Stats()}, {"posts", posts.Stats()}} {
		fmt.Printf("%s, %s: hits=%d misses=%d fills=%d db_reads=%d db_writes=%d invalidations=%d\n",
			when, r.name, r.s.Hits, r.s.Misses, r.s.Fills, r.s.DBReads, r.s.DBWrites, r.s.Invalidations)
	}
}
