package longkeys_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/openworld/longkeys"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/jmoiron/sqlx"
)

var schemas = map[string]string{
	"sqlite": `CREATE TABLE ` + longkeys.Table + ` (id INTEGER PRIMARY KEY AUTOINCREMENT, ` +
		longkeys.ColumnA + ` TEXT NOT NULL UNIQUE, ` + longkeys.ColumnB + ` TEXT NOT NULL, ` +
		longkeys.ColumnC + ` INTEGER NOT NULL, UNIQUE (` + longkeys.ColumnB + `, ` + longkeys.ColumnC + `))`,
	"postgres": `CREATE TABLE ` + longkeys.Table + ` (id BIGSERIAL PRIMARY KEY, ` +
		longkeys.ColumnA + ` TEXT NOT NULL UNIQUE, ` + longkeys.ColumnB + ` TEXT NOT NULL, ` +
		longkeys.ColumnC + ` BIGINT NOT NULL, UNIQUE (` + longkeys.ColumnB + `, ` + longkeys.ColumnC + `))`,
	"mysql": `CREATE TABLE ` + longkeys.Table + ` (id BIGINT AUTO_INCREMENT PRIMARY KEY, ` +
		longkeys.ColumnA + ` VARCHAR(400) NOT NULL UNIQUE, ` + longkeys.ColumnB + ` VARCHAR(400) NOT NULL, ` +
		longkeys.ColumnC + ` BIGINT NOT NULL, UNIQUE (` + longkeys.ColumnB + `, ` + longkeys.ColumnC + `))`,
}

// prefixLens are the key prefix lengths tried: the default prefix (empty
// given), short ones, the lengths around which the head of a hashed key
// stopped fitting, and far beyond.
var prefixLens = []int{0, 1, 30, 60, 90, 100, 130, 156, 200, 300}

// TestInvalidateAllFindsLongKeys: with every prefix length and the longest
// table and column names, rows changed behind the cache with plain SQL are
// served as the database holds them after InvalidateAll, by primary key,
// unique value, unique_together group, in batches and in All, whether
// their keys were hashed or not.
func TestInvalidateAllFindsLongKeys(t *testing.T) {
	for _, p := range pairs.All() {
		t.Run(p.Name, func(t *testing.T) {
			db, _ := p.DB(t)
			db.MustExec(schemas[p.Dialect])
			store := p.Store(t, dbtest.UniqueName())
			for _, n := range prefixLens {
				t.Run(fmt.Sprint("prefix=", n), func(t *testing.T) {
					// The pair cleans up keys under its own prefix; these
					// live a minute at most.
					prefix := strings.Repeat("p", n)
					if n > 20 {
						prefix = dbtest.UniqueName() + ":" + strings.Repeat("p", n-21)
					}
					run(t, db, store, prefix)
				})
			}
		})
	}
}

func run(t *testing.T, db *sqlx.DB, store runtime.Store, prefix string) {
	ctx := context.Background()
	opts := []runtime.Option{runtime.WithTTL(time.Minute)}
	if prefix != "" { // else the default prefix: WithPrefix("") fails
		opts = append(opts, runtime.WithPrefix(prefix))
	}
	repo, err := longkeys.NewLongRepo(db, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	db.MustExec(`DELETE FROM ` + longkeys.Table)
	// Another database of this test may have filled the same keys (the
	// short prefixes are not the test's own).
	if err := repo.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("long value é ", 25) // 325 bytes: every key with it is hashed
	rows := []*longkeys.Long{
		{A: "a", B: "b", C: 1},
		{A: long, B: long, C: 2},
		{A: long + "2", B: "b", C: 3},
	}
	for _, r := range rows {
		if err := repo.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	w := &probes{db: db, repo: repo}
	for _, r := range rows {
		w.add(r)
	}
	// values no row holds yet, so lookups cache not-founds under them
	fresh := &longkeys.Long{ID: rows[2].ID + 1, A: long + "new", B: long + "new", C: 4}
	w.add(fresh)
	w.agree(t, "after the inserts")
	w.agree(t, "read again")

	// Behind the cache: move unique values, delete a row, insert one.
	up := db.Rebind(`UPDATE ` + longkeys.Table + ` SET ` + longkeys.ColumnA + ` = ?, ` +
		longkeys.ColumnB + ` = ?, ` + longkeys.ColumnC + ` = ? WHERE id = ?`)
	moved := []*longkeys.Long{
		{ID: rows[0].ID, A: long + "moved", B: "b", C: 10},
		{ID: rows[1].ID, A: "a", B: long, C: 20},
	}
	for _, r := range moved {
		db.MustExec(up, r.A, r.B, r.C, r.ID)
		w.add(r)
	}
	db.MustExec(db.Rebind(`DELETE FROM `+longkeys.Table+` WHERE id = ?`), rows[2].ID)
	db.MustExec(db.Rebind(`INSERT INTO `+longkeys.Table+` (id, `+longkeys.ColumnA+`, `+longkeys.ColumnB+`, `+longkeys.ColumnC+
		`) VALUES (?, ?, ?, ?)`), fresh.ID, fresh.A, fresh.B, fresh.C)
	if err := repo.InvalidateAll(ctx); err != nil {
		t.Fatal(err)
	}
	w.agree(t, "after InvalidateAll")
}

// probes are every lookup made so far; agree asks each of the repository
// and compares it with the database.
type probes struct {
	db     *sqlx.DB
	repo   *longkeys.LongRepo
	ids    []int64
	as     []string
	groups []longkeys.Long
}

func (w *probes) add(r *longkeys.Long) {
	if !slices.Contains(w.ids, r.ID) {
		w.ids = append(w.ids, r.ID)
	}
	if !slices.Contains(w.as, r.A) {
		w.as = append(w.as, r.A)
	}
	w.groups = append(w.groups, longkeys.Long{B: r.B, C: r.C})
}

func (w *probes) agree(t *testing.T, step string) {
	t.Helper()
	ctx := context.Background()
	var held []*longkeys.Long
	if err := w.db.Select(&held, `SELECT id, `+longkeys.ColumnA+`, `+longkeys.ColumnB+`, `+
		longkeys.ColumnC+` FROM `+longkeys.Table+` ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	find := func(match func(longkeys.Long) bool) *longkeys.Long {
		for _, r := range held {
			if match(*r) {
				return r
			}
		}
		return nil
	}
	same := func(what string, got, want *longkeys.Long, err error) {
		t.Helper()
		if errors.Is(err, runtime.ErrNotFound) {
			got, err = nil, nil
		}
		if err != nil {
			t.Fatalf("%s: %s: %v", step, what, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %s = %s, the database holds %s", step, what, show(got), show(want))
		}
	}
	for _, id := range w.ids {
		got, err := w.repo.GetByID(ctx, id)
		same(fmt.Sprintf("GetByID(%d)", id), got, find(func(r longkeys.Long) bool { return r.ID == id }), err)
	}
	for _, a := range w.as {
		got, err := w.repo.GetByA(ctx, a)
		same(fmt.Sprintf("GetByA(%.20q…)", a), got, find(func(r longkeys.Long) bool { return r.A == a }), err)
	}
	for _, g := range w.groups {
		got, err := w.repo.GetByBC(ctx, g.B, g.C)
		same(fmt.Sprintf("GetByBC(%.20q…, %d)", g.B, g.C), got, find(func(r longkeys.Long) bool { return r.B == g.B && r.C == g.C }), err)
	}
	byIDs, err := w.repo.GetByIDs(ctx, w.ids)
	if err != nil {
		t.Fatalf("%s: GetByIDs: %v", step, err)
	}
	for k, id := range w.ids {
		same(fmt.Sprintf("GetByIDs(…%d…)", id), byIDs[k], find(func(r longkeys.Long) bool { return r.ID == id }), err)
	}
	byAs, err := w.repo.GetByAs(ctx, w.as)
	if err != nil {
		t.Fatalf("%s: GetByAs: %v", step, err)
	}
	for k, a := range w.as {
		same(fmt.Sprintf("GetByAs(…%.20q…)", a), byAs[k], find(func(r longkeys.Long) bool { return r.A == a }), err)
	}
	all, err := w.repo.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, held) && len(all)+len(held) > 0 {
		t.Fatalf("%s: All = %v, the database holds %v", step, all, held)
	}
}

func show(r *longkeys.Long) string {
	if r == nil {
		return "no row"
	}
	return fmt.Sprintf("{ID:%d A:%.20q… B:%.20q… C:%d}", r.ID, r.A, r.B, r.C)
}
