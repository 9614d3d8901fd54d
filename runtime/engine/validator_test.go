package engine_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/memory"
)

// TestValidator: a missing row has NoRow; a cached row's validator costs no
// query; a write changes it, and writing the same columns back restores it.
func TestValidator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, count := dbtest.OpenSQLite(t)
		db.MustExec(`CREATE TABLE pairs (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT NOT NULL, UNIQUE (a, b))`)
		store, err := memory.New(memory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		table, err := engine.NewTable(db, store, &pairSpec)
		if err != nil {
			t.Fatal(err)
		}
		validator := func(i int, probe *pair) string {
			t.Helper()
			v, err := table.Validator(ctx, i, probe)
			if err != nil {
				t.Fatal(err)
			}
			return v.String()
		}

		if v := validator(0, &pair{ID: 1}); v != engine.NoRow {
			t.Fatalf("missing row: %q, want NoRow", v)
		}
		row := &pair{A: 1, B: "b", V: "one"}
		if err := table.Save(ctx, row); err != nil {
			t.Fatal(err)
		}
		first := validator(0, &pair{ID: row.ID})
		if first == engine.NoRow || first == "" {
			t.Fatalf("saved row's validator %q", first)
		}
		if v := validator(1, &pair{A: 1, B: "b"}); v != first {
			t.Errorf("by unique key %q, by pk %q: one row, one validator", v, first)
		}
		count.Reset()
		if v := validator(0, &pair{ID: row.ID}); v != first || count.Queries() != 0 {
			t.Errorf("cached row: validator %q (want %q), %d queries (want 0)", v, first, count.Queries())
		}

		row.V = "two"
		if err := table.Save(ctx, row); err != nil {
			t.Fatal(err)
		}
		if v := validator(0, &pair{ID: row.ID}); v == first {
			t.Errorf("validator unchanged by a write")
		}
		row.V = "one"
		if err := table.Save(ctx, row); err != nil {
			t.Fatal(err)
		}
		if v := validator(0, &pair{ID: row.ID}); v != first {
			t.Errorf("same columns, validator %q, want %q", v, first)
		}
	})
}
