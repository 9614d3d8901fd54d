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
	"github.com/jmoiron/sqlx"
)

// givenUpFixture is a users repository on PostgreSQL and the memory store,
// under a prefix of its own, with the database it writes to.
func givenUpFixture(t *testing.T) (*sqlx.DB, *model.UserRepo) {
	t.Helper()
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
	return db, users
}

// TestGuardedUpdateGivenUp: an update that keeps its unique values runs its
// statement outside a transaction, between the locks of its keys and their
// release. When the write stops waiting for the statement (its context
// ended while another transaction held the row), the statement may still
// commit after the write returned: the keys stay locked, so a read after
// it goes to the database (a lock bypass) instead of filling the key with
// the row the statement may be replacing.
func TestGuardedUpdateGivenUp(t *testing.T) {
	ctx := context.Background()
	db, users := givenUpFixture(t)
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

// TestStatementFirstWritesGivenUp: an insert with an auto pk and a delete
// also run their one statement outside a transaction, between their locks
// and their release; given up while the statement waits on another
// transaction, they too leave their keys locked.
func TestStatementFirstWritesGivenUp(t *testing.T) {
	ctx := context.Background()
	db, users := givenUpFixture(t)
	bypassesAfter := func(read func() error) uint64 {
		t.Helper()
		before := users.Stats().LockBypasses
		if err := read(); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Fatal(err)
		}
		return users.Stats().LockBypasses - before
	}

	t.Run("insert", func(t *testing.T) {
		// Another transaction inserts the same email: the INSERT waits
		// on the unique index.
		holder, err := db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Rollback()
		if _, err := holder.ExecContext(ctx, "INSERT INTO users (email, org_id, handle, name) VALUES ('held@up.org', 1, 'holder', 'H')"); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		u := &model.User{Email: "held@up.org", OrgID: 1, Handle: "inserter", Name: "I"}
		if err := users.Save(short, u); !errors.Is(err, context.DeadlineExceeded) && short.Err() == nil {
			t.Fatalf("insert while another transaction holds its email: %v, want it to give up at its deadline", err)
		}
		if u.ID != 0 {
			t.Fatalf("a failed insert set the id to %d", u.ID)
		}
		if err := holder.Rollback(); err != nil {
			t.Fatal(err)
		}
		if got := bypassesAfter(func() error { _, err := users.GetByEmail(ctx, "held@up.org"); return err }); got != 1 {
			t.Errorf("a read by email after the given-up insert bypassed %d locks, want 1", got)
		}
	})

	t.Run("delete", func(t *testing.T) {
		u := &model.User{Email: "gone@up.org", OrgID: 1, Handle: "gone", Name: "G"}
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
		if err := users.Delete(short, u.ID); !errors.Is(err, context.DeadlineExceeded) && short.Err() == nil {
			t.Fatalf("Delete while another transaction holds the row: %v, want it to give up at its deadline", err)
		}
		if err := holder.Rollback(); err != nil {
			t.Fatal(err)
		}
		if got := bypassesAfter(func() error { _, err := users.GetByID(ctx, u.ID); return err }); got != 1 {
			t.Errorf("a read by id after the given-up delete bypassed %d locks, want 1", got)
		}
	})
}

// lockHook is a store that runs a function once, at the first lock after
// it is armed: a write elsewhere between a guarded delete's read of the
// row and its statement.
type lockHook struct {
	runtime.Store
	armed func()
}

func (h *lockHook) Lock(ctx context.Context, key string, ttl time.Duration) error {
	if f := h.armed; f != nil {
		h.armed = nil
		f()
	}
	return h.Store.Lock(ctx, key, ttl)
}

// TestGuardedDeleteFallsBack: a delete reads the row without a lock, locks
// the keys of its values and deletes it only if it still holds them. When
// another write changed its email in between, the guarded DELETE matches
// nothing, and the delete goes on in a transaction that learns the new
// email and invalidates the keys of both: the row is gone from the
// database and from every key, as the database answers.
func TestGuardedDeleteFallsBack(t *testing.T) {
	ctx := context.Background()
	db, counter := dbtest.OpenPostgres(t)
	CreateTables(t, db, "postgres")
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	hook := &lockHook{Store: mem}
	prefix := dbtest.UniqueName()
	users, err := model.NewUserRepo(db, hook, runtime.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	other, err := model.NewUserRepo(db, mem, runtime.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	u := &model.User{Email: "before@fall.org", OrgID: 1, Handle: "fall", Name: "F"}
	if err := users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	// Cached under every key: the id, both emails (the new one as not
	// found), the handle.
	for _, read := range []func() error{
		func() error { _, err := users.GetByID(ctx, u.ID); return err },
		func() error { _, err := users.GetByEmail(ctx, "before@fall.org"); return err },
		func() error { _, err := users.GetByEmail(ctx, "after@fall.org"); return err },
	} {
		if err := read(); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Fatal(err)
		}
	}
	hook.armed = func() {
		edit := *u
		edit.Email = "after@fall.org"
		if err := other.Save(ctx, &edit); err != nil {
			t.Errorf("the concurrent update: %v", err)
		}
		counter.Reset() // the delete's own statements from here
	}
	if err := users.Delete(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if hook.armed != nil {
		t.Fatal("the delete took no lock")
	}
	if n := counter.Txs(); n != 1 {
		t.Errorf("the delete ran %d transactions after its guarded DELETE, want 1 (the fallback)", n)
	}
	var left int
	if err := db.GetContext(ctx, &left, "SELECT count(*) FROM users WHERE id = $1", u.ID); err != nil || left != 0 {
		t.Fatalf("rows left with id %d: %d, %v", u.ID, left, err)
	}
	for _, email := range []string{"before@fall.org", "after@fall.org"} {
		if got, err := users.GetByEmail(ctx, email); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("GetByEmail(%s) after the delete: %+v, %v; the database has no such row", email, got, err)
		}
	}
	if got, err := users.GetByID(ctx, u.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("GetByID after the delete: %+v, %v; the database has no such row", got, err)
	}
}
