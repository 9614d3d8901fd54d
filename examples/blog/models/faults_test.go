package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/faultstore"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	goredis "github.com/redis/go-redis/v9"
)

// TestStoreDown: with the store unreachable, reads come from the database
// and writes succeed; invalidations the store missed are delivered once it
// answers again, so the value it kept across the outage is not served.
func TestStoreDown(t *testing.T) {
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			ctx := context.Background()
			e := p.open(t)
			faulty := faultstore.New(e.store)
			e = newEnv(t, e.db, e.count, faulty, e.prefix)

			u := mustSaveUser(t, e, "down@x.org", 1, "down")
			if _, err := e.users.GetByID(ctx, u.ID); err != nil { // cached now
				t.Fatal(err)
			}

			faulty.SetDown(true)
			before := e.users.Stats()
			got, err := e.users.GetByID(ctx, u.ID)
			if err != nil || got.Email != "down@x.org" {
				t.Fatalf("read with the store down: %+v, %v", got, err)
			}
			u.Name = "written while down"
			if err := e.users.Save(ctx, u); err != nil {
				t.Fatalf("a write failed because the store was down: %v", err)
			}
			got, err = e.users.GetByID(ctx, u.ID)
			if err != nil || got.Name != "written while down" {
				t.Fatalf("read after the write, store down: %+v, %v", got, err)
			}
			s := e.users.Stats()
			if s.StoreErrors <= before.StoreErrors || s.DBReads < before.DBReads+2 {
				t.Fatalf("store errors %d -> %d, db reads %d -> %d: the outage was not counted", before.StoreErrors, s.StoreErrors, before.DBReads, s.DBReads)
			}

			// Back up, still holding the row from before the write: the
			// missed invalidation must be delivered before the store serves
			// that key again. (While the breaker is open, reads go to the
			// database.)
			faulty.SetDown(false)
			deadline := time.Now().Add(10 * time.Second)
			for {
				got, err = e.users.GetByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Name != "written while down" {
					t.Fatalf("the store served the row from before the write: %q", got.Name)
				}
				s := e.users.Stats()
				if !s.BreakerOpen && s.InvalidationRetries > 0 && s.Hits > before.Hits {
					break // the store answers again, with the new row
				}
				if time.Now().After(deadline) {
					t.Fatalf("10s after the store came back: %+v", s)
				}
				time.Sleep(20 * time.Millisecond)
			}
			// And the repository made while the store was down works too.
			faulty.SetDown(true)
			late, err := models.NewUserRepo(e.db, faulty)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := late.GetByEmail(ctx, "down@x.org"); err != nil || got.ID != u.ID {
				t.Fatalf("repo made with the store down: %+v, %v", got, err)
			}
		})
	}
}

// TestRedisUnreachable: a Redis that refuses connections from the start
// costs reads nothing but a fall back to the database, and writes succeed.
func TestRedisUnreachable(t *testing.T) {
	ctx := context.Background()
	db, count := openSQLite(t)
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	store, err := cgredis.New(client, cgredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, db, count, store, dbtest.UniqueName())
	u := mustSaveUser(t, e, "nowhere@x.org", 1, "n")
	for i := 0; i < 2; i++ {
		if got, err := e.users.GetByEmail(ctx, "nowhere@x.org"); err != nil || got.ID != u.ID {
			t.Fatalf("read %d: %+v, %v", i, got, err)
		}
	}
	if err := e.users.Delete(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.users.GetByID(ctx, u.ID)
	wantNotFound(t, "after delete", err)
	s := e.users.Stats()
	if s.StoreErrors == 0 || s.Hits != 0 || s.DBReads != 3 {
		t.Fatalf("stats %+v: want store errors, no hits and 3 database reads", s)
	}
}
