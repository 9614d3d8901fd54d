package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/faultstore"
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

			// Back up, still holding the row from before the write.
			faulty.SetDown(false)
			deadline := time.Now().Add(5 * time.Second)
			for {
				got, err = e.users.GetByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Name == "written while down" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("5s after the store came back it still serves %q", got.Name)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if s := e.users.Stats(); s.InvalidationRetries == 0 {
				t.Fatal("no invalidation was retried")
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
