package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/memory"
)

// TestNewTableRejectsKeyNames: a prefix, a table or an indexed column
// whose name could make two keys alike is refused when the table is made,
// with an error naming it.
func TestNewTableRejectsKeyNames(t *testing.T) {
	db, _ := dbtest.OpenSQLite(t)
	withTable := func(name string) *engine.Spec[pair] {
		s := pairSpec
		s.Table = name
		return &s
	}
	withColumn := func(col int, name string) *engine.Spec[pair] {
		s := pairSpec
		s.Columns = append([]string(nil), s.Columns...)
		s.Columns[col] = name
		return &s
	}
	for _, c := range []struct {
		spec *engine.Spec[pair]
		opts []runtime.Option
		want string
	}{
		{&pairSpec, []runtime.Option{runtime.WithPrefix("my app")}, `WithPrefix("my app")`},
		{&pairSpec, []runtime.Option{runtime.WithPrefix("app*")}, `WithPrefix("app*")`},
		{withTable("b:c"), nil, `table name "b:c"`},
		{withColumn(2, "b=c"), nil, `column name "b=c"`},
		{withColumn(0, "x,y"), nil, `column name "x,y"`},
	} {
		_, err := engine.NewTable(db, nil, c.spec, c.opts...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewTable with %s: %v, want an error naming it", c.want, err)
		}
	}
	if _, err := engine.NewTable(db, nil, &pairSpec, runtime.WithPrefix("app:v2")); err != nil {
		t.Errorf("NewTable with the prefix app:v2: %v", err)
	}
	// a column no index names is not part of any key: any name will do
	if _, err := engine.NewTable(db, nil, withColumn(3, "v:w")); err != nil {
		t.Errorf("NewTable with an unindexed column v:w: %v", err)
	}
}

// TestInvalidateAllStaysInItsTable: prefix "app" and table "pairs" make
// the base "app:pairs:", which every key of prefix "app:pairs" starts
// with. InvalidateAll on the first drops none of the second's keys.
func TestInvalidateAllStaysInItsTable(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.OpenSQLite(t)
	db.MustExec(`CREATE TABLE pairs (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT NOT NULL, UNIQUE (a, b))`)
	db.MustExec(`INSERT INTO pairs (id, a, b, v) VALUES (1, 1, 'b', 'v')`)
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	outer, err := engine.NewTable(db, store, &pairSpec, runtime.WithPrefix("app"))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := engine.NewTable(db, store, &pairSpec, runtime.WithPrefix("app:pairs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []*engine.Table[pair]{outer, inner} {
		for range 2 {
			if _, err := tbl.Get(ctx, 0, &pair{ID: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := outer.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := inner.Get(ctx, 0, &pair{ID: 1}); err != nil {
		t.Fatal(err)
	}
	if st := inner.Stats(); st.Hits != 2 {
		t.Errorf("prefix app:pairs: %d hits, want 2: InvalidateAll under prefix app dropped its keys", st.Hits)
	}
	if _, err := outer.Get(ctx, 0, &pair{ID: 1}); err != nil {
		t.Fatal(err)
	}
	if st := outer.Stats(); st.Hits != 1 {
		t.Errorf("prefix app: %d hits after its InvalidateAll, want 1 (before it)", st.Hits)
	}
}
