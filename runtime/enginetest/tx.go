package enginetest

import (
	"context"
	"errors"
	"testing"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
)

// Repositories joined to a runtime.Tx: reads see the transaction, the keys
// stay locked until it ends.
var txTests = []test{
	{"TxCommit", testTxCommit},
	{"TxRollback", testTxRollback},
	{"GetManyInTx", testGetManyInTx},
}

func testTxCommit(t *testing.T, e *env) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "tx@x.org", 1, "tx")
	if _, err := e.users.GetByID(ctx, u.ID); err != nil { // cached
		t.Fatal(err)
	}
	tx, err := runtime.Begin(ctx, e.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() // after a failure: the open transaction would hold its row locks past the test
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
}

func testTxRollback(t *testing.T, e *env) {
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
		fresh := &model.User{Email: "never@x.org", OrgID: 9, Handle: "never", Name: "never"}
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
}

// testGetManyInTx: joined to a transaction, a batch reads through it (its
// uncommitted rows included) and never touches the cache; outside, the
// writer's locks are read through until the commit.
func testGetManyInTx(t *testing.T, e *env) {
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
	defer tx.Rollback() // after a failure: the open transaction would hold its row locks past the test
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
}
