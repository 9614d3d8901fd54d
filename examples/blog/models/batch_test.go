package models_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/faultstore"
	"github.com/cachegen/cachegen/runtime"
)

// The batch getters follow the single-key protocol key by key: these tests
// put a key in each state a batch can meet and check what it does.

// TestGetManyAlignsAndCaches: results follow the ids, repeated ids get
// copies of their own, a missing id is nil and its miss is cached, and the
// row inserted under it later is seen.
func TestGetManyAlignsAndCaches(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustSaveUser(t, e, "a@x.org", 1, "a")
		b := mustSaveUser(t, e, "b@x.org", 1, "b")
		missing := b.ID + 1
		ids := []int64{b.ID, a.ID, missing, a.ID, b.ID}
		e.count.Reset()
		got, err := e.users.GetByIDs(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if n := e.count.Queries(); n != 1 {
			t.Errorf("cold: %d queries, want 1", n)
		}
		if got[0].ID != b.ID || got[1].ID != a.ID || got[2] != nil || got[3].ID != a.ID || got[4].ID != b.ID {
			t.Fatalf("GetByIDs(%v) = %v", ids, got)
		}
		if got[1] == got[3] || got[0] == got[4] {
			t.Fatal("a repeated id shares memory between positions")
		}
		s := e.users.Stats()
		if s.Misses != 3 || s.Fills != 3 || s.DBReads != 1 {
			t.Fatalf("cold: misses %d fills %d reads %d, want 3 3 1", s.Misses, s.Fills, s.DBReads)
		}
		e.count.Reset()
		again, err := e.users.GetByIDs(ctx, ids)
		if err != nil || again[2] != nil || again[3].Email != "a@x.org" {
			t.Fatalf("warm: %v, %v", again, err)
		}
		if n := e.count.Queries(); n != 0 || cacheHits(e.users.Stats()) != 3 {
			t.Fatalf("warm: %d queries and %d hits, want 0 and 3", n, cacheHits(e.users.Stats()))
		}
		c := mustSaveUser(t, e, "c@x.org", 1, "c")
		if c.ID != missing {
			t.Fatalf("the database skipped id %d (got %d)", missing, c.ID)
		}
		if got, err := e.users.GetByIDs(ctx, []int64{missing}); err != nil || got[0] == nil || got[0].Email != "c@x.org" {
			t.Fatalf("the id cached as missing, after its insert: %v, %v", got, err)
		}
		if got, err := e.users.GetByIDs(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("no ids: %v, %v", got, err)
		}
	})
}

// TestGetManyReadsThroughLocks: a key a writer holds is read from the
// database and never filled.
func TestGetManyReadsThroughLocks(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustSaveUser(t, e, "a@x.org", 1, "a")
		b := mustSaveUser(t, e, "b@x.org", 1, "b")
		key := userKey(t, e, a.ID) // cached now
		if err := e.store.Lock(ctx, key, time.Minute); err != nil {
			t.Fatal(err)
		}
		// the writer's statement, not yet released
		if _, err := e.db.Exec(e.db.Rebind("UPDATE users SET name = ? WHERE id = ?"), "written", a.ID); err != nil {
			t.Fatal(err)
		}
		before := e.users.Stats()
		got, err := e.users.GetByIDs(ctx, []int64{a.ID, b.ID})
		if err != nil || got[0].Name != "written" || got[1].ID != b.ID {
			t.Fatalf("GetByIDs through a lock: %v, %v", got, err)
		}
		if s := e.users.Stats(); s.LockBypasses != before.LockBypasses+1 {
			t.Fatalf("lock bypasses %d -> %d", before.LockBypasses, s.LockBypasses)
		}
		if entry, err := e.store.Get(ctx, key); err != nil || entry.Kind != runtime.Locked || entry.Locks != 1 {
			t.Fatalf("after the batch the key holds %+v, %v; want the writer's lock", entry, err)
		}
		if err := e.store.Unlock(ctx, key); err != nil {
			t.Fatal(err)
		}
		if got, err := e.users.GetByIDs(ctx, []int64{a.ID}); err != nil || got[0].Name != "written" {
			t.Fatalf("after the release: %v, %v", got, err)
		}
	})
}

// TestGetManyWaitsForLeases: a key another reader is filling is waited
// for; its fill answers, and a lease that is never filled is read around
// without taking it over.
func TestGetManyWaitsForLeases(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustSaveUser(t, e, "a@x.org", 1, "a")
		key := userKey(t, e, a.ID)
		entry, err := e.store.Get(ctx, key)
		if err != nil || entry.Kind != runtime.Value {
			t.Fatalf("not cached: %+v, %v", entry, err)
		}
		row := append([]byte(nil), entry.Value...)
		waiting, err := models.NewUserRepo(e.db, e.store, runtime.WithPrefix(e.prefix), runtime.WithLeaseWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}

		// another reader's lease, filled while the batch waits
		lease := func(token string) {
			t.Helper()
			if err := e.store.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if ok, cur, err := e.store.Lease(ctx, key, token, time.Minute); !ok || err != nil {
				t.Fatalf("lease: %v %+v %v", ok, cur, err)
			}
		}
		lease("other")
		done := make(chan error, 1)
		go func() {
			// Fill once the batch has seen the lease and waits for it (it
			// counts the wait before waiting): a fill before that would
			// turn the wait into a plain hit.
			for deadline := time.Now().Add(10 * time.Second); waiting.Stats().LeaseWaits == 0; {
				if time.Now().After(deadline) {
					done <- errors.New("the batch never waited for the lease")
					return
				}
				time.Sleep(time.Millisecond)
			}
			_, err := e.store.Fill(ctx, key, "other", runtime.Entry{Kind: runtime.Value, Value: row}, time.Minute)
			done <- err
		}()
		e.count.Reset()
		got, err := waiting.GetByIDs(ctx, []int64{a.ID})
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err != nil || got[0] == nil || got[0].ID != a.ID {
			t.Fatalf("GetByIDs waiting for a fill: %v, %v", got, err)
		}
		if s := waiting.Stats(); s.LeaseWaits != 1 || s.DBReads != 0 || e.count.Queries() != 0 {
			t.Fatalf("waiting for a fill: lease waits %d, reads %d, queries %d; want 1 0 0", s.LeaseWaits, s.DBReads, e.count.Queries())
		}

		// a lease never filled: read the database, leave the lease alone
		lease("stuck")
		short, err := models.NewUserRepo(e.db, e.store, runtime.WithPrefix(e.prefix), runtime.WithLeaseWait(20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		got, err = short.GetByIDs(ctx, []int64{a.ID})
		if err != nil || got[0] == nil || got[0].ID != a.ID {
			t.Fatalf("GetByIDs around a stuck lease: %v, %v", got, err)
		}
		if entry, err := e.store.Get(ctx, key); err != nil || entry.Kind != runtime.Leased || entry.Token != "stuck" {
			t.Fatalf("the other reader's lease became %+v, %v", entry, err)
		}
		if s := short.Stats(); s.LeaseWaits != 1 || s.DBReads != 1 || s.Fills != 0 {
			t.Fatalf("around a stuck lease: %+v", s)
		}
	})
}

// TestGetManyCorruptValue: bytes that do not decode are a miss, discarded
// and refilled.
func TestGetManyCorruptValue(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustSaveUser(t, e, "a@x.org", 1, "a")
		key := userKey(t, e, a.ID)
		good, err := e.store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		goodBytes := append([]byte(nil), good.Value...)
		for name, bad := range map[string][]byte{
			"foreign":   []byte("someone else's value"),
			"truncated": goodBytes[:len(goodBytes)-2],
		} {
			plant(t, e.store, key, bad)
			if e.near != nil {
				e.near.Clear() // the store changed behind the bus
			}
			before := e.users.Stats().CorruptValues
			got, err := e.users.GetByIDs(ctx, []int64{a.ID})
			if err != nil || got[0] == nil || got[0].Email != "a@x.org" {
				t.Fatalf("%s: %v, %v", name, got, err)
			}
			if e.users.Stats().CorruptValues == before {
				t.Errorf("%s: not counted as corrupt", name)
			}
			if _, err := e.users.GetByIDs(ctx, []int64{a.ID}); err != nil {
				t.Fatal(err)
			}
			if again, _ := e.store.Get(ctx, key); string(again.Value) != string(goodBytes) {
				t.Fatalf("%s: not refilled: %v %q", name, again.Kind, again.Value)
			}
		}
	})
}

// TestGetManyTextKeys: by a unique text column, a lookup the database
// matches loosely (MySQL's case-insensitive collation) gets the row, as
// GetByEmail would, but caches nothing under its spelling; elsewhere it is
// a miss like any other. No lease is left behind either way.
func TestGetManyTextKeys(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustSaveUser(t, e, "a@x.org", 1, "a")
		// alone in its batch, the loose spelling
		loose, err := models.NewUserRepo(e.db, e.store, runtime.WithPrefix(e.prefix))
		if err != nil {
			t.Fatal(err)
		}
		got, err := loose.GetByEmails(ctx, []string{"A@X.ORG"})
		if err != nil {
			t.Fatal(err)
		}
		if e.dialect == runtime.MySQL {
			if got[0] == nil || got[0].ID != a.ID || loose.Stats().Fills != 0 {
				t.Fatalf("MySQL, A@X.ORG alone: %v, %d fills; want the row, cached under no key", got, loose.Stats().Fills)
			}
		} else if got[0] != nil || loose.Stats().Fills != 1 {
			t.Fatalf("A@X.ORG alone: %v, %d fills; want a cached miss", got, loose.Stats().Fills)
		}

		emails := []string{"a@x.org", "A@X.ORG", "none@x.org"}
		got, err = e.users.GetByEmails(ctx, emails)
		if err != nil {
			t.Fatal(err)
		}
		for i, email := range emails {
			one, err := e.users.GetByEmail(ctx, email)
			if (one == nil) != (got[i] == nil) || (one != nil && one.ID != got[i].ID) {
				t.Errorf("%s: GetByEmails says %+v, GetByEmail %+v (%v)", email, got[i], one, err)
			}
		}
		if got[0] == nil || got[0].ID != a.ID || got[2] != nil {
			t.Fatalf("GetByEmails(%q) = %v", emails, got)
		}
		wantFills := uint64(2) // the row and none@'s miss; A@X.ORG's was cached above
		if e.dialect == runtime.MySQL {
			wantFills = 1 // text misses are never cached on MySQL
			if got[1] == nil || got[1].ID != a.ID {
				t.Errorf("MySQL matches %q to the row, and so must the batch: %v", emails[1], got[1])
			}
		}
		if s := e.users.Stats(); s.Fills != wantFills || s.LeaseWaits != 0 {
			t.Fatalf("fills %d and lease waits %d, want %d and 0", s.Fills, s.LeaseWaits, wantFills)
		}
	})
}

// TestGetManyStoreDown: with the store unreachable, a batch reads the
// database.
func TestGetManyStoreDown(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustSaveUser(t, e, "a@x.org", 1, "a")
		faulty := faultstore.New(e.store)
		faulty.SetDown(true)
		down, err := models.NewUserRepo(e.db, faulty, runtime.WithPrefix(e.prefix))
		if err != nil {
			t.Fatal(err)
		}
		got, err := down.GetByIDs(ctx, []int64{a.ID, a.ID + 1})
		if err != nil || got[0] == nil || got[0].ID != a.ID || got[1] != nil {
			t.Fatalf("GetByIDs with the store down: %v, %v", got, err)
		}
		if s := down.Stats(); s.StoreErrors == 0 || s.DBReads != 1 {
			t.Fatalf("store down: %+v", s)
		}
	})
}

// lockRefused refuses to lock and unlock one key, as a store that missed a
// write's invalidation would: the old value stays under it, pending.
type lockRefused struct {
	runtime.Store
	key     string
	refused atomic.Bool
}

func (s *lockRefused) Lock(ctx context.Context, key string, ttl time.Duration) error {
	if s.refused.Load() && key == s.key {
		return errors.New("lock refused")
	}
	return s.Store.Lock(ctx, key, ttl)
}

func (s *lockRefused) Unlock(ctx context.Context, key string) error {
	if s.refused.Load() && key == s.key {
		return errors.New("unlock refused")
	}
	return s.Store.Unlock(ctx, key)
}

// TestGetManyPendingInvalidation: a key whose invalidation the store
// missed is read from the database until the invalidation gets through,
// never from the store that still holds the old row.
func TestGetManyPendingInvalidation(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustSaveUser(t, e, "a@x.org", 1, "a")
		refusing := &lockRefused{Store: e.store, key: userKey(t, e, a.ID)} // cached now
		users, err := models.NewUserRepo(e.db, refusing, runtime.WithPrefix(e.prefix))
		if err != nil {
			t.Fatal(err)
		}
		refusing.refused.Store(true)
		defer refusing.refused.Store(false)
		a.Name = "written"
		if err := users.Save(ctx, a); err != nil {
			t.Fatal(err)
		}
		if entry, _ := e.store.Get(ctx, refusing.key); entry.Kind != runtime.Value {
			t.Fatalf("the store lost the old row (%v): the test needs it there", entry.Kind)
		}
		got, err := users.GetByIDs(ctx, []int64{a.ID})
		if err != nil || got[0].Name != "written" {
			t.Fatalf("GetByIDs with the invalidation pending: %v, %v", got, err)
		}
	})
}

// TestGetManySQLShape: one IN query per batch where the index compares
// exactly, on every dialect; on a text index whose collation the catalog
// does not confirm (the mock refuses the catalog query) one UNION ALL of
// the single lookup's WHERE, here of one branch.
func TestGetManySQLShape(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.driver, func(t *testing.T) {
			q, ph := d.q, d.ph
			users, mock := mockUsers(t, d.driver)
			sel := "SELECT " + cols(q) + " FROM " + q("users")
			mock.ExpectQuery(sel+" WHERE "+q("id")+" IN ("+ph(1)+", "+ph(2)+")").WithArgs(5, 6).WillReturnRows(userRow())
			mock.ExpectQuery("SELECT 0, " + cols(q) + " FROM " + q("users") + " WHERE " + q("email") + " = " + ph(1)).WithArgs("a@x.org").
				WillReturnRows(sqlmock.NewRows([]string{"0", "id", "email", "org_id", "handle", "name"}).AddRow(0, 5, "a@x.org", 1, "a", "A"))
			got, err := users.GetByIDs(ctx, []int64{5, 6, 5})
			if err != nil || got[0].ID != 5 || got[1] != nil || got[2].ID != 5 {
				t.Fatalf("GetByIDs: %v, %v", got, err)
			}
			if got, err := users.GetByEmails(ctx, []string{"a@x.org"}); err != nil || got[0].ID != 5 {
				t.Fatalf("GetByEmails: %v, %v", got, err)
			}
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestGetManyInTx: joined to a transaction, a batch reads through it (its
// uncommitted rows included) and never touches the cache; outside, the
// writer's locks are read through until the commit.
func TestGetManyInTx(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := mustSaveUser(t, e, "a@x.org", 1, "a")
		b := mustSaveUser(t, e, "b@x.org", 1, "b")
		if _, err := e.users.GetByIDs(ctx, []int64{a.ID, b.ID}); err != nil { // cached
			t.Fatal(err)
		}
		tx, err := runtime.Begin(ctx, e.db, nil)
		if err != nil {
			t.Fatal(err)
		}
		inTx := e.users.WithTx(tx)
		changed := *a
		changed.Name = "in tx"
		if err := inTx.Save(ctx, &changed); err != nil {
			t.Fatal(err)
		}
		before := e.users.Stats()
		got, err := inTx.GetByIDs(ctx, []int64{a.ID, b.ID})
		if err != nil || got[0].Name != "in tx" || got[1].ID != b.ID {
			t.Fatalf("GetByIDs inside the transaction: %v, %v", got, err)
		}
		if s := e.users.Stats(); s.Hits != before.Hits || s.Fills != before.Fills || s.DBReads != before.DBReads+1 {
			t.Fatalf("inside the transaction the batch used the cache: %+v", s)
		}
		got, err = e.users.GetByIDs(ctx, []int64{a.ID, b.ID})
		if err != nil || got[0].Name != "a" || got[1].ID != b.ID {
			t.Fatalf("GetByIDs outside before commit: %v, %v", got, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		got, err = e.users.GetByIDs(ctx, []int64{a.ID, b.ID})
		if err != nil || got[0].Name != "in tx" {
			t.Fatalf("GetByIDs after commit: %v, %v", got, err)
		}
	})
}
