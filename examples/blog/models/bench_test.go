package models_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/jmoiron/sqlx"
)

// BenchmarkGetByID compares, in one run on one SQLite file, a direct sqlx
// primary-key query with the generated GetByID: on a hit in the memory
// store, and with no store (the runtime's own cost on top of the query).
//
//	go test -run '^$' -bench GetByID -benchmem -count 5 ./examples/blog/models
func BenchmarkGetByID(b *testing.B) {
	ctx := context.Background()
	dsn := "file:" + filepath.Join(b.TempDir(), "bench.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.MustExec(models.SQLiteSchema)
	store, err := memory.New(memory.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	cached, err := models.NewUserRepo(db, store)
	if err != nil {
		b.Fatal(err)
	}
	uncached, err := models.NewUserRepo(db, nil)
	if err != nil {
		b.Fatal(err)
	}
	u := &models.User{Email: "bench@x.org", OrgID: 1, Handle: "bench", Name: "Bench"}
	if err := cached.Save(ctx, u); err != nil {
		b.Fatal(err)
	}

	b.Run("direct-sqlx", func(b *testing.B) {
		for b.Loop() {
			var got models.User
			if err := db.GetContext(ctx, &got, "SELECT id, email, org_id, handle, name FROM users WHERE id = ?", u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repo-no-store", func(b *testing.B) {
		for b.Loop() {
			if _, err := uncached.GetByID(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repo-memory-hit", func(b *testing.B) {
		if _, err := cached.GetByID(ctx, u.ID); err != nil { // fill
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := cached.GetByID(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repo-memory-unique-hit", func(b *testing.B) {
		if _, err := cached.GetByEmail(ctx, u.Email); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := cached.GetByEmail(ctx, u.Email); err != nil {
				b.Fatal(err)
			}
		}
	})
}
