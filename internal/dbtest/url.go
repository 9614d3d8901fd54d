package dbtest

import (
	"testing"

	"github.com/jmoiron/sqlx"
)

// OpenURL opens a fresh, empty namespace of the database named (sqlite,
// postgres or mysql), like the Open functions, and returns with it the
// address a command takes for it: a SQLite file path, postgres://… with
// the schema as search path, mysql://user@host:port/db.
func OpenURL(t testing.TB, name string) (*sqlx.DB, string) {
	t.Helper()
	var db *sqlx.DB
	var addr string
	switch name {
	case "sqlite":
		db, _, addr = openSQLite(t, nil)
	case "postgres":
		db, _, addr = openPostgres(t, nil)
	case "mysql":
		db, _, addr = openMySQL(t, nil)
	default:
		t.Fatalf("dbtest.OpenURL: no database %q", name)
	}
	return db, addr
}
