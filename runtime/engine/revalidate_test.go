package engine_test

import (
	"context"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/cachegen/cachegen/runtime/storetest"
)

// TestRevalidate: the rows of two tables on one store are read again in
// one round trip and give the validators their getters give; a write, a
// missing row or a fresh read is not answered; the
// near cache answers with no round trip.
func TestRevalidate(t *testing.T) {
	ctx := context.Background()
	db, queries := dbtest.OpenSQLite(t)
	for _, table := range []string{"pairs", "others"} {
		db.MustExec(`CREATE TABLE ` + table + ` (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT NOT NULL, UNIQUE (a, b))`)
		db.MustExec(`INSERT INTO ` + table + ` (id, a, b, v) VALUES (1, 1, 'one', 'first'), (2, 2, 'two', 'second')`)
	}
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	store := &storetest.ReadCounter{BatchStore: mem}
	otherSpec := pairSpec
	otherSpec.Table = "others"
	pairs, err := engine.NewTable(db, store, &pairSpec)
	if err != nil {
		t.Fatal(err)
	}
	others, err := engine.NewTable(db, store, &otherSpec)
	if err != nil {
		t.Fatal(err)
	}
	read := func() []engine.Validator {
		t.Helper()
		var vs []engine.Validator
		for _, tb := range []*engine.Table[pair]{pairs, others} {
			for id := range int64(2) {
				v, err := tb.Validator(ctx, 0, &pair{ID: id + 1})
				if err != nil {
					t.Fatal(err)
				}
				vs = append(vs, v)
			}
		}
		return vs
	}
	same := func(a, b []engine.Validator) bool {
		for k := range a {
			if a[k].String() != b[k].String() {
				return false
			}
		}
		return len(a) == len(b)
	}
	vs := read()
	store.Reads.Store(0)
	queries.Reset()
	cur, ok := engine.Revalidate(ctx, vs)
	if !ok || !same(cur, vs) || store.Reads.Load() != 1 || queries.Queries() != 0 {
		t.Fatalf("4 cached rows of 2 tables: ok=%v same=%v, %d store reads (want 1), %d queries (want 0)",
			ok, same(cur, vs), store.Reads.Load(), queries.Queries())
	}
	if again, ok := engine.Revalidate(ctx, cur); !ok || !same(again, vs) {
		t.Errorf("Revalidate's own validators: ok=%v same=%v", ok, same(again, vs))
	}

	// A write drops the row's keys: not answered until a getter refills it,
	// then answered with the new validator.
	if err := others.Save(ctx, &pair{ID: 2, A: 2, B: "two", V: "changed"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := engine.Revalidate(ctx, vs); ok {
		t.Error("a written row, not cached again, was answered")
	}
	now := read()
	if cur, ok := engine.Revalidate(ctx, vs); !ok || !same(cur, now) || same(cur, vs) {
		t.Errorf("after the refill: ok=%v, want the new validators", ok)
	}

	// A missing row names no key; a fresh read asks the database.
	missing, err := pairs.Validator(ctx, 0, &pair{ID: 9})
	if err != nil || missing.String() != engine.NoRow {
		t.Fatalf("missing row: %v %v", missing, err)
	}
	if _, ok := engine.Revalidate(ctx, append(now, missing)); ok {
		t.Error("a NoRow was answered")
	}
	if _, ok := engine.Revalidate(engine.Fresh(ctx), now); ok {
		t.Error("a fresh read was answered from the cache")
	}
	if cur, ok := engine.Revalidate(ctx, nil); !ok || len(cur) != 0 {
		t.Errorf("no rows: %v %v", cur, ok)
	}
}

// TestRevalidateNear: rows the near cache holds cost no round trip.
func TestRevalidateNear(t *testing.T) {
	ctx := context.Background()
	db, store, bus := nearFixture(t)
	p := newProcess(t, db, store, bus)
	var vs []engine.Validator
	for id := range int64(2) {
		v, err := p.t.Validator(ctx, 0, &pair{ID: id + 1})
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	store.gets.Store(0)
	cur, ok := engine.Revalidate(ctx, vs)
	if !ok || cur[0].String() != vs[0].String() || cur[1].String() != vs[1].String() || store.gets.Load() != 0 {
		t.Errorf("near rows: ok=%v, %d store reads, want 0", ok, store.gets.Load())
	}
}
