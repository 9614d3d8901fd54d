package enginetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
)

// Bulk writes and the write shortcuts: each answer after the write is
// checked against the database's own (a fresh read), under every key the
// write moved, old unique values included.
var bulkTests = []test{
	{"SaveMany", testSaveMany},
	{"SaveManyAllOrNone", testSaveManyAllOrNone},
	{"DeleteMany", testDeleteMany},
	{"UpdateShortcutFallsBack", testUpdateShortcutFallsBack},
}

func init() { writeTests = append(writeTests, bulkTests...) }

// userLookups reads u's keys (by id, email and org+handle) through the
// cache, and through runtime.Fresh from the database, and fails on any
// difference.
func userLookups(t *testing.T, e *env, what string, id int64, email string, org int64, handle string) {
	t.Helper()
	ctx := context.Background()
	show := func(u *model.User, err error) string {
		if err != nil {
			if errors.Is(err, runtime.ErrNotFound) {
				return "not found"
			}
			return "error " + err.Error()
		}
		return fmt.Sprintf("%+v", *u)
	}
	for _, read := range []struct {
		name string
		get  func(ctx context.Context) (*model.User, error)
	}{
		{"id", func(ctx context.Context) (*model.User, error) { return e.users.GetByID(ctx, id) }},
		{"email", func(ctx context.Context) (*model.User, error) { return e.users.GetByEmail(ctx, email) }},
		{"org+handle", func(ctx context.Context) (*model.User, error) { return e.users.GetByOrgIDHandle(ctx, org, handle) }},
	} {
		for range 2 { // a miss that fills, then what the fill left
			got, want := show(read.get(ctx)), show(read.get(runtime.Fresh(ctx)))
			if got != want {
				t.Fatalf("%s: by %s: cache %s, database %s", what, read.name, got, want)
			}
		}
	}
}

func testSaveMany(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	b := mustSaveUser(t, e, "b@x.org", 1, "b")
	c := mustSaveUser(t, e, "c@x.org", 1, "c")
	for _, u := range []*model.User{a, b, c} {
		userLookups(t, e, "before", u.ID, u.Email, u.OrgID, u.Handle)
	}
	a.Name = "A2"                        // unique values kept
	b.Email, b.Handle = "b2@x.org", "b2" // unique values changed
	n := &model.User{Email: "n@x.org", OrgID: 1, Handle: "n", Name: "N"}
	explicit := &model.User{ID: c.ID + 1000, Email: "e@x.org", OrgID: 1, Handle: "e", Name: "E"}
	if err := e.users.SaveMany(ctx, []*model.User{a, b, n, explicit}); err != nil {
		t.Fatal(err)
	}
	if n.ID == 0 {
		t.Fatal("SaveMany: no id written back into the inserted row")
	}
	userLookups(t, e, "kept", a.ID, "a@x.org", 1, "a")
	userLookups(t, e, "old values", b.ID, "b@x.org", 1, "b")
	userLookups(t, e, "new values", b.ID, "b2@x.org", 1, "b2")
	userLookups(t, e, "inserted", n.ID, "n@x.org", 1, "n")
	userLookups(t, e, "inserted with its key", explicit.ID, "e@x.org", 1, "e")
	got, err := e.users.GetByID(ctx, a.ID)
	if err != nil || got.Name != "A2" {
		t.Fatalf("a after SaveMany: %+v, %v", got, err)
	}
	if err := e.users.SaveMany(ctx, []*model.User{a, {ID: a.ID, Email: "z@x.org", OrgID: 2, Handle: "z"}}); err == nil {
		t.Fatal("SaveMany of two rows with one primary key: no error")
	}
	if err := e.users.SaveMany(ctx, nil); err != nil {
		t.Fatalf("SaveMany(nil): %v", err)
	}
}

func testSaveManyAllOrNone(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	b := mustSaveUser(t, e, "b@x.org", 1, "b")
	userLookups(t, e, "before", a.ID, a.Email, 1, "a")
	a.Name = "changed"
	taken := *b
	taken.Email = "a@x.org" // a's email: the statement fails
	n := &model.User{Email: "n@x.org", OrgID: 1, Handle: "n"}
	if err := e.users.SaveMany(ctx, []*model.User{a, &taken, n}); err == nil {
		t.Fatal("SaveMany onto a taken email: no error")
	}
	if a.Name != "changed" || n.ID != 0 || taken.Email != "a@x.org" {
		t.Fatalf("rows after a failed SaveMany: %+v %+v %+v, want them as given", a, taken, n)
	}
	got, err := e.users.GetByID(runtime.Fresh(ctx), a.ID)
	if err != nil || got.Name != "a" {
		t.Fatalf("a after a failed SaveMany: %+v, %v (want it unchanged)", got, err)
	}
	userLookups(t, e, "after", a.ID, "a@x.org", 1, "a")
	userLookups(t, e, "never inserted", 0, "n@x.org", 1, "n")
}

func testDeleteMany(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	b := mustSaveUser(t, e, "b@x.org", 1, "b")
	c := mustSaveUser(t, e, "c@x.org", 1, "c")
	for _, u := range []*model.User{a, b, c} {
		userLookups(t, e, "before", u.ID, u.Email, u.OrgID, u.Handle)
	}
	n, err := e.users.DeleteMany(ctx, []int64{a.ID, b.ID, a.ID, c.ID + 1000})
	if err != nil || n != 2 {
		t.Fatalf("DeleteMany: %d, %v; want 2 rows deleted", n, err)
	}
	userLookups(t, e, "deleted", a.ID, "a@x.org", 1, "a")
	userLookups(t, e, "deleted", b.ID, "b@x.org", 1, "b")
	userLookups(t, e, "kept", c.ID, "c@x.org", 1, "c")
	if n, err := e.users.DeleteMany(ctx, nil); err != nil || n != 0 {
		t.Fatalf("DeleteMany(nil): %d, %v", n, err)
	}
}

// testUpdateShortcutFallsBack: an update whose guarded statement matches
// nothing (a changed unique value; a row left as it was, which MariaDB
// counts as no row affected; a row that does not exist) takes the locked
// path and invalidates what it must.
func testUpdateShortcutFallsBack(t *testing.T, e *env) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "s@x.org", 4, "s")
	userLookups(t, e, "before", u.ID, "s@x.org", 4, "s")
	if err := e.users.Save(ctx, u); err != nil { // nothing changes
		t.Fatal(err)
	}
	userLookups(t, e, "unchanged", u.ID, "s@x.org", 4, "s")
	u.OrgID = 5 // part of a unique_together group
	if err := e.users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	userLookups(t, e, "old group", u.ID, "s@x.org", 4, "s")
	userLookups(t, e, "new group", u.ID, "s@x.org", 5, "s")
	gone := &model.User{ID: u.ID + 1000, Email: "g@x.org", OrgID: 4, Handle: "g"}
	userLookups(t, e, "before insert", gone.ID, "g@x.org", 4, "g")
	if err := e.users.Save(ctx, gone); err != nil { // a key with no row: an insert
		t.Fatal(err)
	}
	userLookups(t, e, "inserted", gone.ID, "g@x.org", 4, "g")
}
