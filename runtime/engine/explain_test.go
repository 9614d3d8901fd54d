package engine_test

import (
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
)

// TestExplainKeysAreTheTables: the key patterns Explain prints for
// cachegen -explain start the keys a repository really uses, and its SQL
// is the dialect's.
func TestExplainKeysAreTheTables(t *testing.T) {
	db, _ := dbtest.OpenSQLite(t)
	table, err := engine.NewTable(db, nil, &pairSpec, runtime.WithPrefix("app"))
	if err != nil {
		t.Fatal(err)
	}
	plan := engine.Explain(runtime.SQLite, "app", pairSpec.Table, pairSpec.Columns, pairSpec.Indexes)
	row := &pair{ID: 7, A: 3, B: "x"}
	for i, want := range []string{"7", "3,x"} {
		if got := table.Key(i, row); got != plan.Keys[i]+want {
			t.Errorf("index %d: the table's key is %q, Explain's pattern %q", i, got, plan.Keys[i])
		}
	}
	if plan.AllKey != "app:pairs:all" {
		t.Errorf("AllKey = %q", plan.AllKey)
	}
	pg := engine.Explain(runtime.Postgres, "", "pairs", pairSpec.Columns, pairSpec.Indexes)
	if !strings.HasPrefix(pg.Keys[0], "cg:pairs:") || !strings.HasSuffix(pg.InsertAuto, `RETURNING "id"`) ||
		pg.SelectBy[1] != `SELECT "id", "a", "b", "v" FROM "pairs" WHERE "a" = $1 AND "b" = $2` {
		t.Errorf("postgres plan with the default prefix: %+v", pg)
	}
}
