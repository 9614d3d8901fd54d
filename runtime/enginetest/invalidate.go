package enginetest

import (
	"context"
	"testing"

	"github.com/cachegen/cachegen/runtime/enginetest/model"
)

// The Invalidate calls, for rows changed by SQL no repository ran.
var invalidateTests = []test{
	{"InvalidateOutOfBand", testInvalidateOutOfBand},
}

func testInvalidateOutOfBand(t *testing.T, e *env) {
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
	if err := e.users.InvalidateByPK(ctx, u.ID); err != nil {
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
	for _, get := range []func() (*model.User, error){
		func() (*model.User, error) { return e.users.GetByID(ctx, other.ID) },
		func() (*model.User, error) { return e.users.GetByEmail(ctx, "other@x.org") },
		func() (*model.User, error) { return e.users.GetByID(ctx, u.ID) },
	} {
		if got, err := get(); err != nil || got.Name != "migrated" {
			t.Fatalf("after InvalidateAll: %+v, %v", got, err)
		}
	}
}
