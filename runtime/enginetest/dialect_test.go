package enginetest

import (
	"context"
	"database/sql/driver"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/jmoiron/sqlx"
)

// The SQL each dialect receives, recorded statement by statement from
// repositories with no store (the database side only) over a mock
// database, and compared with testdata/<dialect>.sql. After a deliberate
// change: go test ./runtime/enginetest -run TestSQL -update, and review
// the diff of the goldens.

var update = flag.Bool("update", false, "rewrite testdata/*.sql from the statements the repositories send")

// sqlDialects are the drivers of each dialect's golden.
var sqlDialects = []struct{ name, driver string }{
	{"sqlite", "sqlite"},
	{"postgres", "pgx"},
	{"mysql", "mysql"},
}

// statement is one statement the database received, with its arguments.
type statement struct {
	step string
	sql  string
	args []driver.Value
}

// sqlRecorder records what a mock database receives: the converter sees each
// argument, then the matcher the statement they belong to.
type sqlRecorder struct {
	step    string
	pending []driver.Value
	stmts   []statement
	tables  []string // quoted: a statement naming none (the catalog's) is refused
}

func (r *sqlRecorder) ConvertValue(v any) (driver.Value, error) {
	v, err := driver.DefaultParameterConverter.ConvertValue(v)
	r.pending = append(r.pending, v)
	return v, err
}

func (r *sqlRecorder) Match(_, actual string) error {
	args := r.pending
	r.pending = nil
	if !slices.ContainsFunc(r.tables, func(t string) bool { return strings.Contains(actual, t) }) {
		return fmt.Errorf("refused: %s", actual) // a catalog query: its indexes stay loose
	}
	r.stmts = append(r.stmts, statement{step: r.step, sql: actual, args: args})
	return nil
}

// sqlScenario drives every statement shape of the model's repositories on
// one dialect, asserting what each call returns.
func sqlScenario(t *testing.T, driverName string) []statement {
	ctx := context.Background()
	rec := &sqlRecorder{}
	raw, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(rec), sqlmock.ValueConverterOption(rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	db := sqlx.NewDb(raw, driverName)
	d, err := engine.DialectOf(driverName)
	if err != nil {
		t.Fatal(err)
	}
	quote := func(s string) string { return "`" + s + "`" }
	if d == runtime.Postgres {
		quote = func(s string) string { return `"` + s + `"` }
	}
	rec.tables = []string{quote("users"), quote("posts"), quote("wides")}
	// The write shortcuts (a guarded UPDATE, DELETE … RETURNING) ask the
	// catalog and the server's version first, which the mock refuses; their
	// statements are checked on the real databases (runtime/engine's
	// shortcut tests, TestWriteRoundTrips). This golden keeps the locked
	// read every write falls back to.
	repos, err := model.NewRepos(db, nil, runtime.WithoutWriteShortcuts())
	if err != nil {
		t.Fatal(err)
	}
	users, wides := repos.Users, repos.Wides
	userRow := func() *sqlmock.Rows {
		return sqlmock.NewRows([]string{"id", "email", "org_id", "handle", "name"}).AddRow(5, "a@x.org", 1, "a", "A")
	}
	wideCols := []string{"id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}
	wideRow := func() *sqlmock.Rows {
		return sqlmock.NewRows(wideCols).AddRow(7, "w", 1, 2, 3, 4, 5, 6, 7, 8, 9)
	}
	// inserted expects an insert whose generated key is id.
	inserted := func(id int64) {
		if d == runtime.Postgres {
			mock.ExpectQuery("").WillReturnRows(sqlmock.NewRows([]string{"id"}).AddRow(id))
		} else {
			mock.ExpectExec("").WillReturnResult(sqlmock.NewResult(id, 1))
		}
	}
	// lockedRow expects the write's read of the row under its lock.
	lockedRow := func(rows *sqlmock.Rows) {
		if d == runtime.SQLite {
			mock.ExpectExec("").WillReturnResult(sqlmock.NewResult(0, 1))
		}
		mock.ExpectQuery("").WillReturnRows(rows)
	}
	step := func(name string, f func() error) {
		t.Helper()
		rec.step = name
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := mock.ExpectationsWereMet(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	mock.ExpectQuery("").WillReturnRows(userRow())
	step("GetByEmail", func() error {
		u, err := users.GetByEmail(ctx, "a@x.org")
		if err == nil && u.ID != 5 {
			err = fmt.Errorf("got %+v", u)
		}
		return err
	})
	mock.ExpectQuery("").WillReturnRows(userRow())
	step("GetByOrgIDHandle", func() error { _, err := users.GetByOrgIDHandle(ctx, 1, "a"); return err })
	mock.ExpectQuery("").WillReturnRows(userRow())
	step("All", func() error {
		all, err := users.All(ctx)
		if err == nil && len(all) != 1 {
			err = fmt.Errorf("got %v", all)
		}
		return err
	})
	mock.ExpectBegin()
	inserted(42)
	mock.ExpectCommit()
	step("Save (insert)", func() error {
		u := &model.User{Email: "b@x.org", OrgID: 2, Handle: "b", Name: "B"}
		err := users.Save(ctx, u)
		if err == nil && u.ID != 42 {
			err = fmt.Errorf("id %d written back, want 42", u.ID)
		}
		return err
	})
	mock.ExpectBegin()
	lockedRow(userRow())
	mock.ExpectExec("").WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	step("Save (update)", func() error {
		return users.Save(ctx, &model.User{ID: 5, Email: "new@x.org", OrgID: 1, Handle: "a", Name: "A"})
	})
	mock.ExpectBegin()
	lockedRow(userRow())
	mock.ExpectExec("").WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	step("Delete", func() error { return users.Delete(ctx, 5) })
	mock.ExpectBegin()
	inserted(9)
	mock.ExpectCommit().WillReturnError(sqlmock.ErrCancelled)
	step("Save (insert, failed commit)", func() error {
		u := &model.User{Email: "c@x.org", OrgID: 3, Handle: "c", Name: "C"}
		if err := users.Save(ctx, u); err == nil {
			return fmt.Errorf("a failed commit was reported as a success")
		}
		if u.ID != 0 {
			return fmt.Errorf("failed Save left id %d in the row", u.ID)
		}
		return nil
	})
	// Batches: one IN where the index compares exactly; on a text index
	// whose collation the catalog does not confirm (the mock refuses the
	// catalog query) one UNION ALL of the single lookup's WHERE.
	mock.ExpectQuery("").WillReturnRows(userRow())
	step("GetByIDs", func() error {
		got, err := users.GetByIDs(ctx, []int64{5, 6, 5})
		if err == nil && (got[0].ID != 5 || got[1] != nil || got[2].ID != 5) {
			err = fmt.Errorf("got %v", got)
		}
		return err
	})
	mock.ExpectQuery("").WillReturnRows(sqlmock.NewRows([]string{"0", "id", "email", "org_id", "handle", "name"}).AddRow(0, 5, "a@x.org", 1, "a", "A"))
	step("GetByEmails", func() error {
		got, err := users.GetByEmails(ctx, []string{"a@x.org"})
		if err == nil && got[0].ID != 5 {
			err = fmt.Errorf("got %v", got)
		}
		return err
	})

	// More than nine bound values: $10 and above on PostgreSQL.
	mock.ExpectBegin()
	inserted(7)
	mock.ExpectCommit()
	step("Save wide (insert)", func() error {
		return wides.Save(ctx, &model.Wide{Code: "w", C1: 1, C2: 2, C3: 3, C4: 4, C5: 5, C6: 6, C7: 7, C8: 8, C9: 9})
	})
	mock.ExpectBegin()
	lockedRow(wideRow())
	mock.ExpectExec("").WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectCommit()
	step("Save wide (update)", func() error {
		return wides.Save(ctx, &model.Wide{ID: 7, Code: "w2", C1: 11, C2: 12, C3: 13, C4: 14, C5: 15, C6: 16, C7: 17, C8: 18, C9: 19})
	})
	ids := make([]int64, 12)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	mock.ExpectQuery("").WillReturnRows(wideRow())
	step("Wide GetByIDs (12 ids)", func() error {
		got, err := wides.GetByIDs(ctx, ids)
		if err == nil && (got[6] == nil || got[6].ID != 7 || got[0] != nil) {
			err = fmt.Errorf("got %v", got)
		}
		return err
	})
	codes := make([]string, 11)
	for i := range codes {
		codes[i] = fmt.Sprint("w", i)
	}
	mock.ExpectQuery("").WillReturnRows(sqlmock.NewRows(append([]string{"0"}, wideCols...)).AddRow(0, 7, "w0", 1, 2, 3, 4, 5, 6, 7, 8, 9))
	step("Wide GetByCodes (11 codes)", func() error {
		got, err := wides.GetByCodes(ctx, codes)
		if err == nil && (got[0] == nil || got[0].ID != 7 || got[10] != nil) {
			err = fmt.Errorf("got %v", got)
		}
		return err
	})
	return rec.stmts
}

// TestSQL compares each dialect's statements with its golden, and checks
// that every statement binds its arguments in order: $1 … $n on
// PostgreSQL (two digits included), n question marks elsewhere.
func TestSQL(t *testing.T) {
	for _, d := range sqlDialects {
		t.Run(d.name, func(t *testing.T) {
			stmts := sqlScenario(t, d.driver)
			for _, s := range stmts {
				if err := checkPlaceholders(d.name, s.sql, len(s.args)); err != nil {
					t.Errorf("%s: %s\n%v", s.step, s.sql, err)
				}
			}
			got := formatStatements(stmts)
			path := filepath.Join("testdata", d.name+".sql")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("the statements differ from %s (run with -update after a deliberate change):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

var dollar = regexp.MustCompile(`\$([0-9]+)`)

// checkPlaceholders reports a statement whose placeholders are not the
// dialect's, or do not bind n arguments in order.
func checkPlaceholders(dialect, sql string, n int) error {
	if dialect != "postgres" {
		if dollar.MatchString(sql) {
			return fmt.Errorf("a $n placeholder on %s", dialect)
		}
		if q := strings.Count(sql, "?"); q != n {
			return fmt.Errorf("%d placeholders for %d arguments", q, n)
		}
		return nil
	}
	if strings.Contains(sql, "?") {
		return fmt.Errorf("a ? placeholder on postgres")
	}
	var got []int
	for _, m := range dollar.FindAllStringSubmatch(sql, -1) {
		k, _ := strconv.Atoi(m[1])
		got = append(got, k)
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("placeholders %v, want %v", got, want)
	}
	return nil
}

// formatStatements writes one block per statement: the step as a comment,
// the statement, and its arguments.
func formatStatements(stmts []statement) string {
	var b strings.Builder
	for _, s := range stmts {
		fmt.Fprintf(&b, "-- %s\n%s;\n", s.step, s.sql)
		if len(s.args) > 0 {
			args := make([]string, len(s.args))
			for i, a := range s.args {
				args[i] = fmt.Sprintf("%#v", a)
			}
			fmt.Fprintf(&b, "-- args: %s\n", strings.Join(args, ", "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// lineDiff lists the lines of want and got that differ, by line number.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n-%s\n+%s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
