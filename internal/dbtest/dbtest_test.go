package dbtest

import (
	"context"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

// TestWrapSeesWhatTheCheckerNeeds: one wrapper serves the tests' counts
// and the consistency checker: every statement counted, the rows of a query
// outside a transaction (only) handed to Rows, and an exec followed by
// AfterExec on the same connection, inside its transaction.
func TestWrapSeesWhatTheCheckerNeeds(t *testing.T) {
	ctx := context.Background()
	s, err := NewScratch(ctx, "sqlite", ScratchOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Drop()
	var c Counter
	var rowsSeen int
	var afterExec []string
	db, err := OpenWrapped(s.Driver, s.DSN, Wrap{
		Counter: &c,
		Rows:    func(r driver.Rows) driver.Rows { rowsSeen++; return r },
		AfterExec: func(ctx context.Context, cn driver.Conn, query string, _ []driver.NamedValue) {
			// Inside the transaction: the connection sees its own write.
			n, err := count(ctx, cn)
			if err != nil {
				t.Error(err)
			}
			afterExec = append(afterExec, fmt.Sprintf("%s %d", strings.Fields(query)[0], n))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO t (id) VALUES (?)", 1); err != nil {
		t.Fatal(err)
	}
	var id int
	if err := tx.QueryRowContext(ctx, "SELECT id FROM t").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if rowsSeen != 0 {
		t.Fatalf("Rows saw %d queries inside a transaction", rowsSeen)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, "SELECT id FROM t").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if rowsSeen != 1 {
		t.Fatalf("Rows saw %d queries outside a transaction, want 1", rowsSeen)
	}
	if c.Queries() != 2 || c.Execs() != 2 {
		t.Fatalf("counted %d queries, %d execs; want 2 and 2", c.Queries(), c.Execs())
	}
	if want := []string{"CREATE 0", "INSERT 1"}; strings.Join(afterExec, ",") != strings.Join(want, ",") {
		t.Fatalf("AfterExec saw %q, want %q", afterExec, want)
	}
}

// count returns the rows of t as the connection cn sees them.
func count(ctx context.Context, cn driver.Conn) (int64, error) {
	rows, err := cn.(driver.QueryerContext).QueryContext(ctx, "SELECT COUNT(*) FROM t", nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		return 0, err
	}
	n, _ := v[0].(int64)
	return n, nil
}

// TestScratchNamespaces: each server makes a namespace of its own, which a
// handle opens and Drop removes; a bad server is refused before anything
// is made.
func TestScratchNamespaces(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := NewScratch(ctx, "sqlite", ScratchOptions{Dir: dir, Pragmas: []string{"busy_timeout(20000)"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Dialect != "sqlite" || s.URL != filepath.Join(dir, "test.db") || s.DSN != "file:"+s.URL+"?_pragma=busy_timeout(20000)" {
		t.Fatalf("SQLite scratch %+v", s)
	}
	tmp, err := NewScratch(ctx, "sqlite", ScratchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(tmp.URL)); err != nil {
		t.Fatal(err)
	}
	tmp.Drop()
	if _, err := os.Stat(filepath.Dir(tmp.URL)); !os.IsNotExist(err) {
		t.Fatalf("Drop left the SQLite scratch's directory: %v", err)
	}
	for _, bad := range []string{"oracle://x", "root@tcp(h:1", "postgres://h:port/db"} {
		if _, err := NewScratch(ctx, bad, ScratchOptions{}); err == nil {
			t.Errorf("NewScratch(%q) made a namespace", bad)
		}
	}
	for _, srv := range []struct{ dialect, env string }{{"postgres", testenv.PostgresVar}, {"mysql", testenv.MySQLVar}} {
		t.Run(srv.dialect, func(t *testing.T) {
			server := os.Getenv(srv.env)
			if server == "" {
				t.Skipf("%s not set", srv.env)
			}
			s, err := NewScratch(ctx, server, ScratchOptions{Prefix: "cg_scratch_"})
			if err != nil {
				t.Fatal(err)
			}
			db, err := Open(s.Driver, s.DSN, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			if s.Dialect != srv.dialect || !strings.Contains(s.URL, "cg_scratch_") {
				t.Fatalf("%+v", s)
			}
			db.Close()
			s.Drop()
			// Dropped: a new handle on it finds no table.
			db2, err := Open(s.Driver, s.DSN, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db2.Close()
			if _, err := db2.ExecContext(ctx, "SELECT 1 FROM t"); err == nil {
				t.Fatal("the table outlived Drop")
			}
		})
	}
}
