package names

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
)

// The two schemas of the widgets tables. Their names are fixed by the
// models' directives, so on the shared servers a test holds a lock (an
// advisory lock, GET_LOCK) while it owns them; SQLite attaches files of
// the test's own directory.
var schemas = []string{"cg_openworld_a", "cg_openworld_b"}

var widgetsDDL = map[string]string{
	"sqlite":   `CREATE TABLE %s.widgets (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL UNIQUE, shop BIGINT NOT NULL, name TEXT NOT NULL, owner BIGINT UNIQUE, UNIQUE (shop, name))`,
	"postgres": `CREATE TABLE %s.widgets (id BIGSERIAL PRIMARY KEY, code TEXT NOT NULL UNIQUE, shop BIGINT NOT NULL, name TEXT NOT NULL, owner BIGINT UNIQUE, UNIQUE (shop, name))`,
	"mysql":    `CREATE TABLE %s.widgets (id BIGINT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(64) NOT NULL UNIQUE, shop BIGINT NOT NULL, name VARCHAR(64) NOT NULL, owner BIGINT UNIQUE, UNIQUE (shop, name))`,
}

// attachConnector opens SQLite connections that each attach the files of
// attach (alias → path) before they are used: ATTACH is per connection,
// and database/sql opens connections whenever its pool needs one. This is
// how an application attaches databases on every pooled connection (the
// README shows it).
type attachConnector struct {
	driver.Connector
	attach map[string]string
}

func (c attachConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	for alias, path := range c.attach {
		_, err = conn.(driver.ExecerContext).ExecContext(ctx, "ATTACH DATABASE ? AS "+alias, []driver.NamedValue{{Ordinal: 1, Value: path}})
		if err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// openSchemas opens the pair's database with the two schemas made empty
// and widgets tables in each; the connection's default schema is another
// one.
func openSchemas(t *testing.T, p pairs.Pair) *sqlx.DB {
	t.Helper()
	ctx := context.Background()
	if p.Dialect == "sqlite" {
		dir := t.TempDir()
		inner, err := sqlite.NewConnector("file:" + filepath.Join(dir, "main.db") + "?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		attach := map[string]string{}
		for _, s := range schemas {
			attach[s] = filepath.Join(dir, s+".db")
		}
		db := sqlx.NewDb(dbtest.OpenConnector(attachConnector{inner, attach}, &dbtest.Counter{}), "sqlite")
		t.Cleanup(func() { db.Close() })
		for _, s := range schemas {
			db.MustExec(sprintf(widgetsDDL["sqlite"], s))
		}
		return db
	}
	db, _ := p.DB(t)
	lock, err := db.Conn(ctx) // held for the test: the lock belongs to its session
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	var drop, create string
	switch p.Dialect {
	case "postgres":
		if _, err := lock.ExecContext(ctx, `SELECT pg_advisory_lock(72700123)`); err != nil {
			t.Fatal(err)
		}
		drop, create = "DROP SCHEMA IF EXISTS %s CASCADE", "CREATE SCHEMA %s"
	case "mysql":
		var got sql.NullInt64
		if err := lock.QueryRowContext(ctx, `SELECT GET_LOCK('cg_openworld_schemas', 300)`).Scan(&got); err != nil || got.Int64 != 1 {
			t.Fatalf("GET_LOCK: %v, %v", got, err)
		}
		drop, create = "DROP DATABASE IF EXISTS %s", "CREATE DATABASE %s"
	}
	for _, s := range schemas {
		db.MustExec(sprintf(drop, s))
		db.MustExec(sprintf(create, s))
		db.MustExec(sprintf(widgetsDDL[p.Dialect], s))
	}
	t.Cleanup(func() {
		for _, s := range schemas {
			_, _ = db.Exec(sprintf(drop, s)) // before the lock's connection closes (cleanups run last first)
		}
	})
	return db
}

// TestSchemaQualifiedTables runs every repository method on a table of
// another schema than the connection's default, on every database and
// store, and checks that the same table name in two schemas never shares a
// cached row.
func TestSchemaQualifiedTables(t *testing.T) {
	ctx := context.Background()
	for _, p := range pairs.All() {
		t.Run(p.Name, func(t *testing.T) {
			db := openSchemas(t, p)
			prefix := dbtest.UniqueName()
			repos, err := NewRepos(db, p.Store(t, prefix), runtime.WithPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			everyMethod(t, ctx, db, repos.WidgetAs)
			twoSchemas(t, ctx, db, repos)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func everyMethod(t *testing.T, ctx context.Context, db *sqlx.DB, w *WidgetARepo) {
	t.Helper()
	one := &WidgetA{Code: "one", Shop: 1, Name: "first"}
	must(t, w.Save(ctx, one))
	two := &WidgetA{Code: "two", Shop: 1, Name: "second", Owner: &one.ID}
	must(t, w.Save(ctx, two))
	if one.ID == 0 || two.ID == 0 {
		t.Fatalf("generated keys not set: %d %d", one.ID, two.ID)
	}
	for range 2 { // a fill, then a hit
		got, err := w.GetByID(ctx, one.ID)
		must(t, err)
		if got.Code != "one" {
			t.Fatalf("GetByID: %+v", got)
		}
		if got, err = w.GetByCode(ctx, "two"); err != nil || got.ID != two.ID {
			t.Fatalf("GetByCode: %+v, %v", got, err)
		}
		if got, err = w.GetByShopName(ctx, 1, "first"); err != nil || got.ID != one.ID {
			t.Fatalf("GetByShopName: %+v, %v", got, err)
		}
		if got, err = w.GetByOwner(ctx, &one.ID); err != nil || got.ID != two.ID {
			t.Fatalf("GetByOwner: %+v, %v", got, err)
		}
		many, err := w.GetByIDs(ctx, []int64{two.ID, one.ID, 999})
		if err != nil || many[0].ID != two.ID || many[1].ID != one.ID || many[2] != nil {
			t.Fatalf("GetByIDs: %v", err)
		}
		if many, err = w.GetByCodes(ctx, []string{"one", "nope"}); err != nil || many[0].ID != one.ID || many[1] != nil {
			t.Fatalf("GetByCodes: %v", err)
		}
		if many, err = w.GetByOwners(ctx, []*int64{&one.ID}); err != nil || many[0].ID != two.ID {
			t.Fatalf("GetByOwners: %v", err)
		}
		all, err := w.All(ctx)
		if err != nil || len(all) != 2 {
			t.Fatalf("All: %+v, %v", all, err)
		}
		if got, err = w.LoadOwner(ctx, two); err != nil || got.ID != one.ID {
			t.Fatalf("LoadOwner: %+v, %v", got, err)
		}
		if many, err = w.LoadOwners(ctx, []*WidgetA{two}); err != nil || many[0].ID != one.ID {
			t.Fatalf("LoadOwners: %v", err)
		}
		if got, err = w.LoadWidgetA(ctx, one); err != nil || got.ID != two.ID {
			t.Fatalf("LoadWidgetA: %+v, %v", got, err)
		}
		if many, err = w.LoadWidgetAs(ctx, []*WidgetA{one}); err != nil || many[0].ID != two.ID {
			t.Fatalf("LoadWidgetAs: %v", err)
		}
	}
	if st := w.Stats(); st.Hits == 0 {
		t.Fatalf("no cache hit: %+v", st)
	}

	// an update moves the unique values: old keys answer not found
	one.Name, one.Code = "renamed", "uno"
	must(t, w.Save(ctx, one))
	if _, err := w.GetByShopName(ctx, 1, "first"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("old group value after update: %v", err)
	}
	if got, err := w.GetByCode(ctx, "uno"); err != nil || got.Name != "renamed" {
		t.Fatalf("new value after update: %+v, %v", got, err)
	}

	// in a transaction
	must(t, runtime.InTx(ctx, db, func(tx *runtime.Tx) error {
		two.Name = "in tx"
		return w.WithTx(tx).Save(ctx, two)
	}))
	if got, err := w.GetByID(ctx, two.ID); err != nil || got.Name != "in tx" {
		t.Fatalf("after a transaction: %+v, %v", got, err)
	}

	// writes the repository did not make, then each invalidation
	for _, inv := range []struct {
		name string
		fn   func() error
	}{
		{"Invalidate", func() error { return w.InvalidateByPK(ctx, one.ID) }},
		{"InvalidateRows", func() error { return w.InvalidateRows(ctx, one) }},
		{"InvalidateAll", func() error { return w.InvalidateAll(ctx) }},
	} {
		if _, err := w.GetByID(ctx, one.ID); err != nil { // cached
			t.Fatal(err)
		}
		db.MustExec(db.Rebind(`UPDATE cg_openworld_a.widgets SET name = ? WHERE id = ?`), inv.name, one.ID)
		if err := inv.fn(); err != nil {
			t.Fatalf("%s: %v", inv.name, err)
		}
		if got, err := w.GetByID(ctx, one.ID); err != nil || got.Name != inv.name {
			t.Fatalf("after %s: %+v, %v", inv.name, got, err)
		}
	}

	must(t, w.Delete(ctx, two.ID))
	if _, err := w.GetByID(ctx, two.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	if err := w.Delete(ctx, two.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("Delete of a deleted row: %v", err)
	}

	// every pooled connection reaches the other schema (SQLite: each one
	// attached it)
	var wg sync.WaitGroup
	conns := make([]*sql.Conn, 4)
	for i := range conns {
		c, err := db.Conn(ctx)
		must(t, err)
		conns[i] = c
	}
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int
			if err := c.QueryRowContext(ctx, `SELECT COUNT(*) FROM cg_openworld_a.widgets`).Scan(&n); err != nil || n != 1 {
				t.Errorf("a pooled connection: %d rows, %v", n, err)
			}
		}()
	}
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
}

// twoSchemas: rows of the same id and unique values in the two widgets
// tables come back from their own table, cached or not, and a write to one
// never shows in the other.
func twoSchemas(t *testing.T, ctx context.Context, db *sqlx.DB, rs *Repos) {
	t.Helper()
	for _, s := range schemas {
		db.MustExec(`DELETE FROM ` + s + `.widgets`)
	}
	db.MustExec(`INSERT INTO cg_openworld_a.widgets (id, code, shop, name) VALUES (7, 'same', 1, 'same')`)
	db.MustExec(`INSERT INTO cg_openworld_b.widgets (id, code, shop, name) VALUES (7, 'same', 1, 'other')`)
	must(t, rs.WidgetAs.InvalidateAll(ctx))
	for range 2 {
		a, err := rs.WidgetAs.GetByID(ctx, 7)
		must(t, err)
		b, err := rs.WidgetBs.GetByID(ctx, 7)
		must(t, err)
		if a.Name != "same" || b.Name != "other" {
			t.Fatalf("by id: a %+v, b %+v", a, b)
		}
		if a, err = rs.WidgetAs.GetByCode(ctx, "same"); err != nil || a.Name != "same" {
			t.Fatalf("a by code: %+v, %v", a, err)
		}
		if b, err = rs.WidgetBs.GetByCode(ctx, "same"); err != nil || b.Name != "other" {
			t.Fatalf("b by code: %+v, %v", b, err)
		}
		as, err := rs.WidgetAs.All(ctx)
		must(t, err)
		bs, err := rs.WidgetBs.All(ctx)
		must(t, err)
		if len(as) != 1 || len(bs) != 1 || as[0].Name != "same" || bs[0].Name != "other" {
			t.Fatalf("All: a %+v, b %+v", as, bs)
		}
	}
	must(t, rs.WidgetBs.Save(ctx, &WidgetB{ID: 7, Code: "same", Shop: 1, Name: "written"}))
	if a, err := rs.WidgetAs.GetByID(ctx, 7); err != nil || a.Name != "same" {
		t.Fatalf("a after a write to b: %+v, %v", a, err)
	}
	if b, err := rs.WidgetBs.GetByID(ctx, 7); err != nil || b.Name != "written" {
		t.Fatalf("b after its write: %+v, %v", b, err)
	}
}

func sprintf(format, s string) string { return fmt.Sprintf(format, s) }
