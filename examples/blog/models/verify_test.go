package models_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/jmoiron/sqlx"
)

// TestWithVerify: repositories made WithVerify start on the example's
// schema on every database, and refuse tables whose email and slug have no
// unique constraint (lookups by email could then answer any of several
// rows), naming the column and the DDL that fixes it. Without the option
// the same table is accepted: the check is opt-in.
func TestWithVerify(t *testing.T) {
	schemas := []struct {
		name   string
		open   func(testing.TB) (*sqlx.DB, *dbtest.Counter)
		schema []string
	}{
		{"sqlite", dbtest.OpenSQLite, []string{models.SQLiteSchema}},
		{"postgres", dbtest.OpenPostgres, []string{models.PostgresSchema}},
		{"mysql", dbtest.OpenMySQL, models.MySQLSchema},
	}
	for _, s := range schemas {
		t.Run(s.name, func(t *testing.T) {
			db, _ := s.open(t)
			mustExec(t, db, s.schema...)
			if _, err := models.NewRepos(db, nil, runtime.WithVerify()); err != nil {
				t.Fatalf("the example's own schema: %v", err)
			}

			broken, _ := s.open(t)
			for _, stmt := range s.schema {
				// users.email and posts.slug lose their UNIQUE.
				mustExec(t, broken, strings.ReplaceAll(stmt, "NOT NULL UNIQUE,", "NOT NULL,"))
			}
			_, err := models.NewUserRepo(broken, nil, runtime.WithVerify())
			if !errors.Is(err, runtime.ErrSchemaMismatch) {
				t.Fatalf("email without a unique constraint: %v, want ErrSchemaMismatch", err)
			}
			for _, want := range []string{"users.email: unique tag has no unique constraint", "CREATE UNIQUE INDEX users_email_key ON users (email)"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if _, err := models.NewUserRepo(broken, nil); err != nil {
				t.Fatalf("without WithVerify: %v", err)
			}
			// NewRepos makes every repository before it fails: the problems
			// of both tables are reported at once.
			_, err = models.NewRepos(broken, nil, runtime.WithVerify())
			for _, want := range []string{"users.email: unique tag", "posts.slug: unique tag"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("NewRepos: %v\ndoes not say %q", err, want)
				}
			}
		})
	}
}
