package models_test

import (
	"testing"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/jmoiron/sqlx"
)

func newMemory(t *testing.T) runtime.Store {
	t.Helper()
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

// pairDef is a database + store combination the behaviour suite runs on.
type pairDef struct {
	name string
	open func(t *testing.T) *env
}

var pairs = []pairDef{
	{"sqlite+memory", pair(openSQLite, newMemory)},
	{"postgres+memory", pair(openPostgres, newMemory)},
	{"mysql+memory", pair(openMySQL, newMemory)},
}

func pair(open func(*testing.T) (*sqlx.DB, *dbtest.Counter), store func(*testing.T) runtime.Store) func(*testing.T) *env {
	return func(t *testing.T) *env {
		t.Helper()
		db, count := open(t)
		return newEnv(t, db, count, store(t))
	}
}

func openSQLite(t *testing.T) (*sqlx.DB, *dbtest.Counter) {
	t.Helper()
	db, count := dbtest.OpenSQLite(t)
	mustExec(t, db, models.SQLiteSchema)
	return db, count
}

func openPostgres(t *testing.T) (*sqlx.DB, *dbtest.Counter) {
	t.Helper()
	db, count := dbtest.OpenPostgres(t)
	mustExec(t, db, models.PostgresSchema)
	return db, count
}

func openMySQL(t *testing.T) (*sqlx.DB, *dbtest.Counter) {
	t.Helper()
	db, count := dbtest.OpenMySQL(t)
	mustExec(t, db, models.MySQLSchema...)
	return db, count
}

func mustExec(t *testing.T, db *sqlx.DB, stmts ...string) {
	t.Helper()
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
}
