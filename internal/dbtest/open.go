package dbtest

import (
	"crypto/rand"
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers "sqlite"
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

// UniqueName returns cg_test_<random>: the schema or database of one test,
// so that runs never collide and never touch anything else.
func UniqueName() string { return "cg_test_" + strings.ToLower(rand.Text()[:12]) }

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
	count := &Counter{}
	path := filepath.Join(t.TempDir(), "test.db")
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	if len(params) > 0 {
		dsn += "&" + params.Encode()
	}
	raw, err := Open("sqlite", dsn, count)
	if err != nil {
		t.Fatal(err)
	}
	db := sqlx.NewDb(raw, "sqlite")
	t.Cleanup(func() { db.Close() })
	return db, count, path
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
	dsn := testenv.PostgresDSN(t)
	schema := UniqueName()
	admin := func(stmt string) error {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec(stmt)
		return err
	}
	if err := admin("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL at %s: %v", testenv.PostgresVar, err)
	}
	t.Cleanup(func() { _ = admin("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", testenv.PostgresVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		t.Fatalf("%s: %v", testenv.PostgresVar, err)
	}
	count := &Counter{}
	db := sqlx.NewDb(OpenConnector(stdlib.GetConnector(*cfg, opts...), count), "pgx")
	t.Cleanup(func() { db.Close() })
	return db, count, u.String()
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
	cfg, err := mysql.ParseDSN(testenv.MySQLDSN(t))
	if err != nil {
		t.Fatalf("%s: %v", testenv.MySQLVar, err)
	}
	name := UniqueName()
	admin := func(stmt string) error {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec(stmt)
		return err
	}
	if err := admin("CREATE DATABASE " + name); err != nil {
		t.Fatalf("MySQL at %s: %v", testenv.MySQLVar, err)
	}
	t.Cleanup(func() { _ = admin("DROP DATABASE " + name) })
	cfg = cfg.Clone()
	cfg.DBName = name
	cfg.ParseTime = true
	if edit != nil {
		edit(cfg)
	}
	count := &Counter{}
	raw, err := Open("mysql", cfg.FormatDSN(), count)
	if err != nil {
		t.Fatal(err)
	}
	db := sqlx.NewDb(raw, "mysql")
	t.Cleanup(func() { db.Close() })
	u := url.URL{Scheme: "mysql", User: url.UserPassword(cfg.User, cfg.Passwd), Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd == "" {
		u.User = url.User(cfg.User)
	}
	return db, count, u.String()
}
