package enginetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/memory"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
)

// BenchmarkGetByID compares, in one run on one SQLite file, a direct sqlx
// primary-key query with the generated GetByID: on a hit in the memory
// store, and with no store (the runtime's own cost on top of the query).
//
//	go test -run '^$' -bench GetByID -benchmem -count 5 ./runtime/enginetest
func BenchmarkGetByID(b *testing.B) {
	ctx := context.Background()
	dsn := "file:" + filepath.Join(b.TempDir(), "bench.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	CreateTables(b, db, "sqlite")
	store, err := memory.New(memory.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	cached, err := model.NewUserRepo(db, store)
	if err != nil {
		b.Fatal(err)
	}
	uncached, err := model.NewUserRepo(db, nil)
	if err != nil {
		b.Fatal(err)
	}
	u := &model.User{Email: "bench@x.org", OrgID: 1, Handle: "bench", Name: "Bench"}
	if err := cached.Save(ctx, u); err != nil {
		b.Fatal(err)
	}

	b.Run("direct-sqlx", func(b *testing.B) {
		for b.Loop() {
			var got model.User
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

// BenchmarkPostgresRedis compares, in one run on the same row, a direct sqlx
// primary-key query on PostgreSQL, a raw go-redis GET of the cached bytes,
// and the generated GetByID hit on Redis. It needs CACHEGEN_PG_DSN and
// CACHEGEN_REDIS_ADDR.
//
//	go test -run '^$' -bench PostgresRedis -benchmem -count 5 ./runtime/enginetest
func BenchmarkPostgresRedis(b *testing.B) {
	ctx := context.Background()
	db, _ := dbtest.OpenPostgres(b)
	CreateTables(b, db, "postgres")
	prefix := dbtest.UniqueName()
	client := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr(b)})
	defer client.Close()
	defer dbtest.DeleteRedisKeys(client, prefix+":*")
	store, err := cgredis.New(client, cgredis.Options{})
	if err != nil {
		b.Fatal(err)
	}
	keys := &recordKeys{Store: store}
	users, err := model.NewUserRepo(db, keys, runtime.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	u := &model.User{Email: "bench@x.org", OrgID: 1, Handle: "bench", Name: "Bench"}
	if err := users.Save(ctx, u); err != nil {
		b.Fatal(err)
	}
	keys.first = ""
	if _, err := users.GetByID(ctx, u.ID); err != nil { // fill
		b.Fatal(err)
	}
	key := keys.first

	b.Run("direct-sqlx", func(b *testing.B) {
		for b.Loop() {
			var got model.User
			if err := db.GetContext(ctx, &got, "SELECT id, email, org_id, handle, name FROM users WHERE id = $1", u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-redis-get", func(b *testing.B) {
		for b.Loop() {
			if _, err := client.Get(ctx, key).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repo-redis-hit", func(b *testing.B) {
		for b.Loop() {
			if _, err := users.GetByID(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
