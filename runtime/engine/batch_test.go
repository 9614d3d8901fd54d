package engine_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/cachegen/cachegen/runtime/wire"
)

// pair is a model with a two-column unique index, written by hand the way
// cachegen generates one.
type pair struct {
	ID int64
	A  int64
	B  string
	V  string
}

type pairMapper struct{}

func (pairMapper) Scan(s engine.Scanner, p *pair) error { return s.Scan(&p.ID, &p.A, &p.B, &p.V) }
func (pairMapper) Values(p *pair) []any                 { return []any{p.ID, p.A, p.B, p.V} }
func (pairMapper) PKIsZero(p *pair) bool                { return p.ID == 0 }
func (pairMapper) SetPK(p *pair, id int64)              { p.ID = id }

func (pairMapper) AppendKey(b []byte, i int, p *pair) []byte {
	switch i {
	case 0:
		b = engine.AppendKeyInt(b, p.ID)
	case 1:
		b = engine.AppendKeyInt(b, p.A)
		b = engine.AppendKeySep(b)
		b = engine.AppendKeyString(b, p.B)
	}
	return b
}

func (pairMapper) Encode(b []byte, p *pair) ([]byte, error) {
	b = wire.AppendInt(b, p.ID)
	b = wire.AppendInt(b, p.A)
	b = wire.AppendString(b, p.B)
	return wire.AppendString(b, p.V), nil
}

func (pairMapper) Decode(b []byte, p *pair) error {
	d := wire.NewSharedDecoder(b) // as generated code does: strings share b
	p.ID, p.A, p.B, p.V = d.Int(), d.Int(), d.String(), d.String()
	return d.Finish()
}

var pairSpec = engine.Spec[pair]{
	Table:      "pairs",
	SchemaHash: "0badcafe",
	Columns:    []string{"id", "a", "b", "v"},
	Indexes: []engine.Index{
		{Name: "id", Columns: []int{0}},
		{Name: "ab", Columns: []int{1, 2}, Misses: engine.CacheMissesIfExact, Text: []int{2}},
	},
	AutoPK: true,
	Mapper: pairMapper{},
}

// TestGetManyLargeAndGrouped: a batch by a two-column index reads with an
// OR of ANDs, a batch larger than one statement may bind is split, and the
// results stay aligned either way.
// It runs in a synctest bubble: the store's lease TTL runs on the bubble's
// clock, not while SQLite answers, so a machine slow enough to take longer
// than a lease over the batch's statements cannot lose the fills (seen
// under -race on a loaded machine: the warm read made 3 queries).
func TestGetManyLargeAndGrouped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, count := dbtest.OpenSQLite(t)
		db.MustExec(`CREATE TABLE pairs (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT NOT NULL, UNIQUE (a, b))`)
		const rows = 2500
		tx := db.MustBegin()
		for i := 1; i <= rows; i++ {
			tx.MustExec(`INSERT INTO pairs (id, a, b, v) VALUES (?, ?, ?, ?)`, i, i%7, fmt.Sprint("b", i), fmt.Sprint("v", i))
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		store, err := memory.New(memory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		table, err := engine.NewTable(db, store, &pairSpec)
		if err != nil {
			t.Fatal(err)
		}

		// by primary key: 2,500 ids and one that is missing, 999 to a statement
		probes := make([]*pair, rows+2)
		for i := range rows {
			probes[i] = &pair{ID: int64(rows - i)}
		}
		probes[rows] = &pair{ID: rows + 1}
		// probes[rows+1] stays nil
		count.Reset()
		got, err := table.GetMany(ctx, 0, probes)
		if err != nil {
			t.Fatal(err)
		}
		if n := count.Queries(); n != 3 {
			t.Errorf("%d ids: %d queries, want 3", rows, n)
		}
		for i := range rows {
			if want := int64(rows - i); got[i] == nil || got[i].ID != want || got[i].V != fmt.Sprint("v", want) {
				t.Fatalf("position %d: %+v, want id %d", i, got[i], want)
			}
		}
		if got[rows] != nil || got[rows+1] != nil {
			t.Fatalf("a missing id and a nil probe gave %+v and %+v", got[rows], got[rows+1])
		}
		// Warm, only the missing id is asked again: a not-found under a
		// generated primary key is never stored.
		count.Reset()
		if _, err := table.GetMany(ctx, 0, probes); err != nil || count.Queries() != 1 {
			t.Fatalf("warm: %d queries, %v; want 1", count.Queries(), err)
		}

		// by the group: an OR of ANDs, 499 keys to a statement
		group := make([]*pair, 0, 1001)
		for i := 1; i <= 1000; i++ {
			group = append(group, &pair{A: int64(i % 7), B: fmt.Sprint("b", i)})
		}
		group = append(group, &pair{A: 1, B: "b2"}) // no such pair: 2 % 7 is 2
		count.Reset()
		got, err = table.GetMany(ctx, 1, group)
		if err != nil {
			t.Fatal(err)
		}
		// 3 statements, and the catalog read that the table's first miss on
		// a text index makes (b's collation decides whether misses are cached)
		if n := count.Queries(); n != 4 {
			t.Errorf("1,001 pairs: %d queries, want 4", n)
		}
		for i := range 1000 {
			if got[i] == nil || got[i].ID != int64(i+1) {
				t.Fatalf("pair %d: %+v", i, got[i])
			}
		}
		if got[1000] != nil {
			t.Fatalf("a missing pair gave %+v", got[1000])
		}
		count.Reset()
		if again, err := table.GetMany(ctx, 1, group); err != nil || count.Queries() != 0 || again[1000] != nil {
			t.Fatalf("warm, with the miss cached: %d queries, %v", count.Queries(), err)
		}
		if _, err := table.GetMany(ctx, 2, group); err == nil {
			t.Error("GetMany of an index the table does not have succeeded")
		}

		// no store: the same answers, straight from the database
		direct, err := engine.NewTable(db, nil, &pairSpec)
		if err != nil {
			t.Fatal(err)
		}
		got, err = direct.GetMany(ctx, 1, group[:3])
		if err != nil || got[2].ID != 3 {
			t.Fatalf("without a store: %v, %v", got, err)
		}
	})
}
