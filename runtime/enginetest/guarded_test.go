package enginetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/memory"
)

// TestGuardedUpdateGivenUp: an update that keeps its unique values runs its
// statement outside a transaction, between the locks of its keys and their
// release. When the write stops waiting for the statement (its context
// ended while another transaction held the row), the statement may still
// commit after the write returned: the keys stay locked, so a read after
// it goes to the database (a lock bypass) instead of filling the key with
// the row the statement may be replacing.
func TestGuardedUpdateGivenUp(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.OpenPostgres(t)
	CreateTables(t, db, "postgres")
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	users, err := model.NewUserRepo(db, store, runtime.WithPrefix(dbtest.UniqueName()))
	if err != nil {
		t.Fatal(err)
	}
	u := &model.User{Email: "given@up.org", OrgID: 1, Handle: "given", Name: "A"}
	if err := users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	holder, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	if _, err := holder.ExecContext(ctx, "SELECT id FROM users WHERE id = $1 FOR UPDATE", u.ID); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	edit := *u
	edit.Name = "B"
	if err := users.Save(short, &edit); !errors.Is(err, context.DeadlineExceeded) && short.Err() == nil {
		t.Fatalf("Save while another transaction holds the row: %v, want it to give up at its deadline", err)
	}
	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	before := users.Stats().LockBypasses
	if _, err := users.GetByID(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := users.Stats().LockBypasses - before; got != 1 {
		t.Errorf("a read after the given-up Save bypassed %d locks, want 1: its keys were released while its statement could still commit", got)
	}
}
