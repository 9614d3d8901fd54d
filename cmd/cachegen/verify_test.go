package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/jmoiron/sqlx"
)

// verifySchemas create testdata/verify's accounts table on each database:
// good matches the model; bad has three problems (no unique index on
// email, a BIGINT under the int32 Age, no unique index on (org_id, login)
// but one on a superset).
var verifySchemas = []struct {
	name      string
	good, bad []string
}{
	{"sqlite",
		[]string{`CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, org_id INTEGER NOT NULL,
			login TEXT NOT NULL, age INT NOT NULL, closed_at DATETIME, UNIQUE (org_id, login))`},
		[]string{`CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL, org_id INTEGER NOT NULL,
			login TEXT NOT NULL, age BIGINT NOT NULL, closed_at DATETIME, UNIQUE (org_id, login, email))`}},
	{"postgres",
		[]string{`CREATE TABLE accounts (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, org_id BIGINT NOT NULL,
			login TEXT NOT NULL, age INTEGER NOT NULL, closed_at TIMESTAMPTZ, UNIQUE (org_id, login))`},
		[]string{`CREATE TABLE accounts (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, org_id BIGINT NOT NULL,
			login TEXT NOT NULL, age BIGINT NOT NULL, closed_at TIMESTAMPTZ, UNIQUE (org_id, login, email))`}},
	{"mysql",
		[]string{`CREATE TABLE accounts (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE,
			org_id BIGINT NOT NULL, login VARCHAR(64) NOT NULL, age INT NOT NULL, closed_at DATETIME(6) NULL, UNIQUE (org_id, login))`},
		[]string{`CREATE TABLE accounts (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL,
			org_id BIGINT NOT NULL, login VARCHAR(64) NOT NULL, age BIGINT NOT NULL, closed_at DATETIME(6) NULL, UNIQUE (org_id, login, email))`}},
}

func execAll(t *testing.T, db *sqlx.DB, stmts []string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestVerifyCLI runs cachegen -verify -db on testdata/verify against each
// database: 0 and the text key columns on a matching schema, 1 and every
// problem (position, table.column, fix) on a broken one.
func TestVerifyCLI(t *testing.T) {
	for _, s := range verifySchemas {
		t.Run(s.name, func(t *testing.T) {
			db, addr := dbtest.OpenURL(t, s.name)
			execAll(t, db, s.good)
			code, out, errOut := runCLI(t, ".", "-verify", "-db", addr, "./testdata/verify")
			if code != 0 {
				t.Fatalf("matching schema: exit %d\n%s%s", code, out, errOut)
			}
			// The server's default collations: exact on SQLite and
			// PostgreSQL, case-insensitive on MariaDB.
			compares := "compares exactly: confirmed misses are cached"
			if s.name == "mysql" {
				compares = "compares loosely (collation utf8mb4_general_ci ignores case or accents): confirmed misses are not cached"
			}
			for _, want := range []string{
				"accounts.email: text key column",
				"accounts.login: text key column",
				compares,
				"cachegen: the 1 table(s) of 1 model(s) match the " + s.name + " database",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("stdout does not say %q:\n%s", want, out)
				}
			}

			db, addr = dbtest.OpenURL(t, s.name)
			execAll(t, db, s.bad)
			code, out, errOut = runCLI(t, ".", "-verify", "-db", addr, "./testdata/verify")
			if code != 1 {
				t.Fatalf("broken schema: exit %d, want 1\n%s%s", code, out, errOut)
			}
			file := regexp.QuoteMeta(filepath.Join("testdata", "verify", "models.go"))
			for _, want := range []string{
				`(?m)^` + file + `:15:2: accounts\.age: column is (BIGINT|bigint(\(20\))?), field Age \(int32\) cannot hold it: it holds integers wider than int32\n\tfix: `,
				`(?m)^` + file + `:12:2: accounts\.email: unique tag has no unique constraint or index on exactly \(email\).*\n\tfix: CREATE UNIQUE INDEX accounts_email_key ON accounts \(email\)$`,
				`(?m)^` + file + `:13:2: accounts\.org_id, login: unique_together=org_login tag has no unique constraint or index on exactly \(org_id, login\).*more columns than the tag\n\tfix: CREATE UNIQUE INDEX accounts_org_id_login_key ON accounts \(org_id, login\)$`,
				`(?m)^cachegen: 3 schema problem\(s\) in ` + s.name + `$`,
			} {
				if !regexp.MustCompile(want).MatchString(errOut) {
					t.Errorf("stderr does not match %s:\n%s", want, errOut)
				}
			}
		})
	}
}

func TestVerifyCLIUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-verify", "./testdata/verify"},                          // no -db
		{"-db", "x.db", "./testdata/verify"},                      // -db without -verify
		{"-verify", "-check", "-db", "x.db", "./testdata/verify"}, // two modes
		{"-verify", "-db", "redis://127.0.0.1:6379", "./testdata/verify"},
		{"-verify", "-db", filepath.Join(t.TempDir(), "missing.db"), "./testdata/verify"},
	} {
		code, _, errOut := runCLI(t, ".", args...)
		if code != 2 || !strings.HasPrefix(errOut, "cachegen: ") {
			t.Errorf("%q: exit %d, want 2 with a message\n%s", args, code, errOut)
		}
	}
}
