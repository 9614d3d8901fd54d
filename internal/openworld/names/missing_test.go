package names

import (
	"context"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
)

// notes without the model's body column, and the statement that adds it.
var notesDDL = map[string][2]string{
	"sqlite": {`CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, slug TEXT NOT NULL UNIQUE)`,
		`ALTER TABLE notes ADD COLUMN body TEXT NOT NULL DEFAULT 'real'`},
	"postgres": {`CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, slug TEXT NOT NULL UNIQUE)`,
		`ALTER TABLE notes ADD COLUMN body TEXT NOT NULL DEFAULT 'real'`},
	"mysql": {`CREATE TABLE notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, slug VARCHAR(64) NOT NULL UNIQUE)`,
		`ALTER TABLE notes ADD COLUMN body VARCHAR(64) NOT NULL DEFAULT 'real'`},
}

// TestMissingColumnIsAnError: a table without one of the model's columns
// makes every read and write an error naming the column, on every
// database and store: never a row, never a cached value. (SQLite reads a
// double-quoted name it cannot resolve as a string, so "body" was read,
// and cached, as the text 'body'.) Once the column is added, every read
// answers the database's value: nothing was cached meanwhile. With the
// column dropped again, Save and Delete fail and change nothing.
func TestMissingColumnIsAnError(t *testing.T) {
	ctx := context.Background()
	for _, p := range pairs.All() {
		t.Run(p.Name, func(t *testing.T) {
			db, _ := p.DB(t)
			ddl := notesDDL[p.Dialect]
			db.MustExec(ddl[0])
			db.MustExec(`INSERT INTO notes (id, slug) VALUES (1, 'a'), (2, 'b')`)
			prefix := dbtest.UniqueName()
			notes, err := NewNoteRepo(db, p.Store(t, prefix), runtime.WithPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, row any, err error) {
				t.Helper()
				if err == nil || !strings.Contains(err.Error(), "body") {
					t.Errorf("%s: error %v, want one naming the column body", what, err)
				}
				if !isNil(row) {
					t.Errorf("%s: returned %+v", what, row)
				}
			}
			for range 2 { // the second round would be served from the cache
				n, err := notes.GetByID(ctx, 1)
				check("GetByID", n, err)
				n, err = notes.GetBySlug(ctx, "a")
				check("GetBySlug", n, err)
				ns, err := notes.GetByIDs(ctx, []int64{1, 2})
				check("GetByIDs", ns, err)
				ns, err = notes.GetBySlugs(ctx, []string{"a", "b"})
				check("GetBySlugs", ns, err)
				all, err := notes.All(ctx)
				check("All", all, err)
			}
			// nothing was cached meanwhile: every read now answers the
			// database's body
			db.MustExec(ddl[1])
			assertBodies(t, ctx, notes)

			db.MustExec(`ALTER TABLE notes DROP COLUMN body`)
			check("Save (update)", nil, notes.Save(ctx, &Note{ID: 1, Slug: "a", Body: "new"}))
			check("Save (insert)", nil, notes.Save(ctx, &Note{Slug: "c", Body: "new"}))
			check("Delete", nil, notes.Delete(ctx, 1))
			var count int
			if err := db.Get(&count, `SELECT COUNT(*) FROM notes`); err != nil || count != 2 {
				t.Errorf("the failed writes changed the table: %d rows, %v", count, err)
			}
		})
	}
}

// assertBodies reads both rows by every path, twice, and wants the body
// the database holds.
func assertBodies(t *testing.T, ctx context.Context, notes *NoteRepo) {
	t.Helper()
	for range 2 {
		for _, get := range []func() (*Note, error){
			func() (*Note, error) { return notes.GetByID(ctx, 1) },
			func() (*Note, error) { return notes.GetBySlug(ctx, "a") },
		} {
			n, err := get()
			if err != nil || n.Body != "real" {
				t.Fatalf("after adding the column: %+v, %v", n, err)
			}
		}
		ns, err := notes.GetBySlugs(ctx, []string{"a", "b"})
		if err != nil || ns[0].Body != "real" || ns[1].Body != "real" {
			t.Fatalf("GetBySlugs after adding the column: %v", err)
		}
		all, err := notes.All(ctx)
		if err != nil || len(all) != 2 || all[0].Body != "real" || all[1].Body != "real" {
			t.Fatalf("All after adding the column: %+v, %v", all, err)
		}
	}
}

func isNil(v any) bool {
	switch r := v.(type) {
	case nil:
		return true
	case *Note:
		return r == nil
	case []*Note:
		return r == nil
	case []Note:
		return r == nil
	}
	return false
}
