package dbtest

import (
	"context"
	"database/sql"
	"net/url"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// Dialects a test can open, each on a fresh, empty namespace.
var Dialects = []struct {
	Name string
	Open func(t testing.TB) (*sqlx.DB, *Counter)
}{
	{"sqlite", OpenSQLite},
	{"postgres", OpenPostgres},
	{"mysql", OpenMySQL},
}

// OpenSQLite opens a new SQLite file in the test's temporary directory.
func OpenSQLite(t testing.TB) (*sqlx.DB, *Counter) {
	t.Helper()
	return OpenSQLiteWith(t, nil)
}

// OpenSQLiteWith is OpenSQLite with params added to the DSN's query (such
// as _timezone).
func OpenSQLiteWith(t testing.TB, params url.Values) (*sqlx.DB, *Counter) {
	t.Helper()
	db, count, _ := openSQLite(t, params)
	return db, count
}

// openSQLite is OpenSQLiteWith that also returns the file's path.
func openSQLite(t testing.TB, params url.Values) (*sqlx.DB, *Counter, string) {
	t.Helper()
	s := scratch(t, "sqlite", "SQLite", ScratchOptions{Dir: t.TempDir(), Params: params})
	count := &Counter{}
	raw, err := Open(s.Driver, s.DSN, count)
	if err != nil {
		t.Fatal(err)
	}
	return opened(t, raw, s.Driver), count, s.URL
}

// OpenPostgres creates a schema of its own on the server named by
// CACHEGEN_PG_DSN, opens it as the search path, and drops it when the test
// ends.
func OpenPostgres(t testing.TB) (*sqlx.DB, *Counter) {
	t.Helper()
	return OpenPostgresWith(t, nil)
}

// OpenPostgresWith is OpenPostgres with params added to the DSN (runtime
// parameters such as timezone) and pgx's options on every connection
// (such as stdlib.OptionAfterConnect).
func OpenPostgresWith(t testing.TB, params url.Values, opts ...stdlib.OptionOpenDB) (*sqlx.DB, *Counter) {
	t.Helper()
	db, count, _ := openPostgres(t, params, opts...)
	return db, count
}

// openPostgres is OpenPostgresWith that also returns the schema's address.
func openPostgres(t testing.TB, params url.Values, opts ...stdlib.OptionOpenDB) (*sqlx.DB, *Counter, string) {
	t.Helper()
	s := scratch(t, testenv.PostgresDSN(t), "PostgreSQL at "+testenv.PostgresVar, ScratchOptions{Params: params})
	cfg, err := pgx.ParseConfig(s.DSN)
	if err != nil {
		t.Fatalf("%s: %v", testenv.PostgresVar, err)
	}
	count := &Counter{}
	return opened(t, OpenConnector(stdlib.GetConnector(*cfg, opts...), count), s.Driver), count, s.URL
}

// OpenMySQL creates a database of its own on the server named by
// CACHEGEN_MYSQL_DSN, opens it, and drops it when the test ends.
func OpenMySQL(t testing.TB) (*sqlx.DB, *Counter) {
	t.Helper()
	return OpenMySQLWith(t, nil)
}

// OpenMySQLWith is OpenMySQL with edit, when not nil, applied to the
// driver's configuration (such as Loc, the zone of DATETIME values).
func OpenMySQLWith(t testing.TB, edit func(*mysql.Config)) (*sqlx.DB, *Counter) {
	t.Helper()
	db, count, _ := openMySQL(t, edit)
	return db, count
}

// openMySQL is OpenMySQLWith that also returns the database's address.
func openMySQL(t testing.TB, edit func(*mysql.Config)) (*sqlx.DB, *Counter, string) {
	t.Helper()
	s := scratch(t, testenv.MySQLDSN(t), "MySQL at "+testenv.MySQLVar, ScratchOptions{MySQL: func(cfg *mysql.Config) {
		cfg.ParseTime = true
		if edit != nil {
			edit(cfg)
		}
	}})
	count := &Counter{}
	raw, err := Open(s.Driver, s.DSN, count)
	if err != nil {
		t.Fatal(err)
	}
	return opened(t, raw, s.Driver), count, s.URL
}

// scratch makes a scratch namespace on server for the test, dropped when
// it ends; what names the server in a failure.
func scratch(t testing.TB, server, what string, o ScratchOptions) *Scratch {
	t.Helper()
	s, err := NewScratch(context.Background(), server, o)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Cleanup(s.Drop)
	return s
}

// opened closes raw when the test ends.
func opened(t testing.TB, raw *sql.DB, driver string) *sqlx.DB {
	db := sqlx.NewDb(raw, driver)
	t.Cleanup(func() { db.Close() })
	return db
}
