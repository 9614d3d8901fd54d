package models_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime"
)

func TestTxCommit(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := mustSaveUser(t, e, "tx@x.org", 1, "tx")
		if _, err := e.users.GetByID(ctx, u.ID); err != nil { // cached
			t.Fatal(err)
		}
		tx, err := runtime.Begin(ctx, e.db, nil)
		if err != nil {
			t.Fatal(err)
		}
		inTx := e.users.WithTx(tx)
		changed := *u
		changed.Name, changed.Email = "in tx", "tx2@x.org"
		if err := inTx.Save(ctx, &changed); err != nil {
			t.Fatal(err)
		}
		if got, err := inTx.GetByEmail(ctx, "tx2@x.org"); err != nil || got.Name != "in tx" {
			t.Fatalf("read inside the transaction: %+v, %v", got, err)
		}
		// Outside, before commit: the committed row, read past the lock.
		before := e.users.Stats()
		if got, err := e.users.GetByID(ctx, u.ID); err != nil || got.Name != "tx" {
			t.Fatalf("read outside before commit: %+v, %v", got, err)
		}
		if s := e.users.Stats(); s.LockBypasses != before.LockBypasses+1 || s.Fills != before.Fills {
			t.Fatalf("the key was not locked until commit: %+v", s)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got, err := e.users.GetByID(ctx, u.ID); err != nil || got.Name != "in tx" {
			t.Fatalf("read after commit: %+v, %v", got, err)
		}
		_, err = e.users.GetByEmail(ctx, "tx@x.org")
		wantNotFound(t, "old email after commit", err)
	})
}

func TestTxRollback(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := mustSaveUser(t, e, "rb@x.org", 1, "rb")
		if _, err := e.users.GetByID(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		errBoom := errors.New("boom")
		err := runtime.InTx(ctx, e.db, func(tx *runtime.Tx) error {
			changed := *u
			changed.Name = "rolled back"
			if err := e.users.WithTx(tx).Save(ctx, &changed); err != nil {
				return err
			}
			fresh := &models.User{Email: "never@x.org", OrgID: 9, Handle: "never", Name: "never"}
			if err := e.users.WithTx(tx).Save(ctx, fresh); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx returned %v", err)
		}
		for i := 0; i < 2; i++ { // a fill, then a hit: the keys were released
			if got, err := e.users.GetByID(ctx, u.ID); err != nil || got.Name != "rb" {
				t.Fatalf("read %d after rollback: %+v, %v", i, got, err)
			}
		}
		_, err = e.users.GetByEmail(ctx, "never@x.org")
		wantNotFound(t, "a rolled back insert", err)
		if s := e.users.Stats(); cacheHits(s) == 0 {
			t.Fatal("the keys stayed locked after the rollback")
		}
	})
}

func TestInvalidateOutOfBand(t *testing.T) {
	forEachPair(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := mustSaveUser(t, e, "oob@x.org", 1, "oob")
		other := mustSaveUser(t, e, "other@x.org", 1, "other")
		warm := func() {
			t.Helper()
			for _, f := range []func() error{
				func() error { _, err := e.users.GetByID(ctx, u.ID); return err },
				func() error { _, err := e.users.GetByEmail(ctx, "oob@x.org"); return err },
				func() error { _, err := e.users.GetByID(ctx, other.ID); return err },
				func() error { _, err := e.users.All(ctx); return err },
			} {
				if err := f(); err != nil {
					t.Fatal(err)
				}
			}
		}
		warm()
		old := *u
		e.db.MustExec(e.db.Rebind("UPDATE users SET name = ?, email = ? WHERE id = ?"), "by hand", "hand@x.org", u.ID)
		if got, _ := e.users.GetByID(ctx, u.ID); got.Name != "oob" {
			t.Fatalf("the cache was expected to hold the old row before Invalidate, got %q", got.Name)
		}
		if err := e.users.Invalidate(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := e.users.GetByID(ctx, u.ID); err != nil || got.Name != "by hand" {
			t.Fatalf("after Invalidate: %+v, %v", got, err)
		}
		if all, err := e.users.All(ctx); err != nil || all[0].Name != "by hand" {
			t.Fatalf("All after Invalidate: %+v, %v", all, err)
		}
		// The old email key is only found from the old row.
		if err := e.users.InvalidateRows(ctx, &old); err != nil {
			t.Fatal(err)
		}
		_, err := e.users.GetByEmail(ctx, "oob@x.org")
		wantNotFound(t, "old email after InvalidateRows", err)

		warm2 := func() {
			t.Helper()
			if _, err := e.users.GetByID(ctx, other.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.users.GetByEmail(ctx, "other@x.org"); err != nil {
				t.Fatal(err)
			}
		}
		warm2()
		e.db.MustExec(e.db.Rebind("UPDATE users SET name = ?"), "migrated")
		if err := e.users.InvalidateAll(ctx); err != nil {
			t.Fatal(err)
		}
		for _, get := range []func() (*models.User, error){
			func() (*models.User, error) { return e.users.GetByID(ctx, other.ID) },
			func() (*models.User, error) { return e.users.GetByEmail(ctx, "other@x.org") },
			func() (*models.User, error) { return e.users.GetByID(ctx, u.ID) },
		} {
			if got, err := get(); err != nil || got.Name != "migrated" {
				t.Fatalf("after InvalidateAll: %+v, %v", got, err)
			}
		}
	})
}
