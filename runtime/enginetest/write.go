package enginetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
)

// Save and Delete: every key a write changes is invalidated, the old
// unique values included.
var writeTests = []test{
	{"UniqueChange", testUniqueChange},
	{"Delete", testDelete},
	{"ConcurrentSavesOfOneUniqueValue", testConcurrentSavesOfOneUniqueValue},
	{"WriterDiesBeforeRelease", testWriterDiesBeforeRelease},
}

func testUniqueChange(t *testing.T, e *env) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "old@x.org", 7, "h")
	for i := 0; i < 2; i++ { // miss then hit, on every index
		if _, err := e.users.GetByEmail(ctx, "old@x.org"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.users.GetByOrgIDHandle(ctx, 7, "h"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.users.GetByEmail(ctx, "new@x.org"); err == nil {
		t.Fatal("new email found before the change")
	}
	u.Email, u.Handle = "new@x.org", "h2"
	if err := e.users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	_, err := e.users.GetByEmail(ctx, "old@x.org")
	wantNotFound(t, "old email", err)
	_, err = e.users.GetByOrgIDHandle(ctx, 7, "h")
	wantNotFound(t, "old handle", err)
	got, err := e.users.GetByEmail(ctx, "new@x.org")
	if err != nil || got.ID != u.ID {
		t.Fatalf("new email: %+v, %v", got, err)
	}
	got, err = e.users.GetByOrgIDHandle(ctx, 7, "h2")
	if err != nil || got.Email != "new@x.org" {
		t.Fatalf("new handle: %+v, %v", got, err)
	}
}

func testDelete(t *testing.T, e *env) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "d@x.org", 3, "d")
	if _, err := e.users.GetByID(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.users.GetByEmail(ctx, u.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := e.users.GetByOrgIDHandle(ctx, 3, "d"); err != nil {
		t.Fatal(err)
	}
	if err := e.users.Delete(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.users.GetByID(ctx, u.ID)
	wantNotFound(t, "by id", err)
	_, err = e.users.GetByEmail(ctx, u.Email)
	wantNotFound(t, "by email", err)
	_, err = e.users.GetByOrgIDHandle(ctx, 3, "d")
	wantNotFound(t, "by org and handle", err)
	wantNotFound(t, "second delete", e.users.Delete(ctx, u.ID))
}

// testConcurrentSavesOfOneUniqueValue: writers racing to insert the same
// unique value get the database's unique-violation error, never a silent
// overwrite, and the cache agrees with the one row that won.
func testConcurrentSavesOfOneUniqueValue(t *testing.T, e *env) {
	ctx := context.Background()
	const writers = 8
	var wg sync.WaitGroup
	results := make(chan *model.User, writers)
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := &model.User{Email: "race@x.org", OrgID: int64(100 + i), Handle: fmt.Sprint("h", i), Name: fmt.Sprint("writer ", i)}
			if err := e.users.Save(ctx, u); err != nil {
				errs <- err
				return
			}
			results <- u
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	if len(results) != 1 || len(errs) != writers-1 {
		t.Fatalf("%d saves succeeded and %d failed, want 1 and %d", len(results), len(errs), writers-1)
	}
	winner := <-results
	for err := range errs {
		if err == nil || errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("a losing writer got %v, want the database's unique violation", err)
		}
	}
	got, err := e.users.GetByEmail(ctx, "race@x.org")
	if err != nil || got.ID != winner.ID || got.Name != winner.Name {
		t.Fatalf("GetByEmail: %+v, %v; the winner was %+v", got, err, winner)
	}
	all, err := e.users.All(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("All: %d rows, %v", len(all), err)
	}
}

// testWriterDiesBeforeRelease: a writer whose process dies between its
// commit and its release (here: its releases never reach the store) leaves
// its keys locked, never the old row: every other reader reads the database
// until the locks run out. This is what the lock before commit buys.
func testWriterDiesBeforeRelease(t *testing.T, e *env) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "dies@x.org", 1, "dies")
	for _, read := range []func() (*model.User, error){ // cached now, on every index
		func() (*model.User, error) { return e.users.GetByID(ctx, u.ID) },
		func() (*model.User, error) { return e.users.GetByEmail(ctx, "dies@x.org") },
		func() (*model.User, error) { return e.users.GetByOrgIDHandle(ctx, 1, "dies") },
	} {
		if _, err := read(); err != nil {
			t.Fatal(err)
		}
	}
	opts := []runtime.Option{runtime.WithPrefix(e.prefix)}
	if e.near != nil {
		opts = append(opts, runtime.WithNearCache(e.near))
	}
	dying, err := model.NewUserRepo(e.db, noRelease{e.store}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	u.Name = "committed"
	if err := dying.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		got, err := e.users.GetByID(ctx, u.ID)
		if err != nil || got.Name != "committed" {
			t.Fatalf("read %d by id after the writer died: %+v, %v", i, got, err)
		}
		got, err = e.users.GetByEmail(ctx, "dies@x.org")
		if err != nil || got.Name != "committed" {
			t.Fatalf("read %d by email after the writer died: %+v, %v", i, got, err)
		}
		all, err := e.users.All(ctx)
		if err != nil || len(all) != 1 || all[0].Name != "committed" {
			t.Fatalf("All %d after the writer died: %+v, %v", i, all, err)
		}
	}
}

// noRelease is a store whose unlocks never arrive, as when the process
// that took the locks dies before it releases them. It has no batch calls
// of its own, so the runtime unlocks key by key through it.
type noRelease struct{ runtime.Store }

func (noRelease) Unlock(context.Context, string) error { return nil }
