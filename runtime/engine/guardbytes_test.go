package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/cachegen/cachegen/runtime/wire"
	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// person has a unique text column and one that no index holds.
type person struct {
	ID    int64
	Email string
	V     string
}

type personMapper struct{}

func (personMapper) Scan(s engine.Scanner, p *person) error { return s.Scan(&p.ID, &p.Email, &p.V) }
func (personMapper) Values(p *person) []any                 { return []any{p.ID, p.Email, p.V} }
func (personMapper) PKIsZero(p *person) bool                { return p.ID == 0 }
func (personMapper) SetPK(p *person, id int64)              { p.ID = id }

func (personMapper) AppendKey(b []byte, i int, p *person) []byte {
	if i == 0 {
		return engine.AppendKeyInt(b, p.ID)
	}
	return engine.AppendKeyString(b, p.Email)
}

func (personMapper) Encode(b []byte, p *person) ([]byte, error) {
	b = wire.AppendInt(b, p.ID)
	b = wire.AppendString(b, p.Email)
	return wire.AppendString(b, p.V), nil
}

func (personMapper) Decode(b []byte, p *person) error {
	d := wire.NewDecoder(b)
	p.ID, p.Email, p.V = d.Int(), d.String(), d.String()
	return d.Finish()
}

var personSpec = engine.Spec[person]{
	Table:      "people",
	SchemaHash: "70e0e1e0",
	Columns:    []string{"id", "email", "v"},
	Indexes: []engine.Index{
		{Name: "id", Columns: []int{0}},
		{Name: "email", Columns: []int{1}, Misses: engine.CacheMissesIfExact, Text: []int{1}},
	},
	Mapper: personMapper{},
}

// account has a text primary key.
type account struct {
	Name string
	Note string
}

type accountMapper struct{}

func (accountMapper) Scan(s engine.Scanner, a *account) error { return s.Scan(&a.Name, &a.Note) }
func (accountMapper) Values(a *account) []any                 { return []any{a.Name, a.Note} }
func (accountMapper) PKIsZero(a *account) bool                { return a.Name == "" }
func (accountMapper) SetPK(*account, int64)                   {}

func (accountMapper) AppendKey(b []byte, _ int, a *account) []byte {
	return engine.AppendKeyString(b, a.Name)
}

func (accountMapper) Encode(b []byte, a *account) ([]byte, error) {
	return wire.AppendString(wire.AppendString(b, a.Name), a.Note), nil
}

func (accountMapper) Decode(b []byte, a *account) error {
	d := wire.NewDecoder(b)
	a.Name, a.Note = d.String(), d.String()
	return d.Finish()
}

var accountSpec = engine.Spec[account]{
	Table:      "accounts",
	SchemaHash: "acc0acc0",
	Columns:    []string{"name", "note"},
	Indexes:    []engine.Index{{Name: "name", Columns: []int{0}, Misses: engine.CacheMissesIfExact, Text: []int{0}}},
	Mapper:     accountMapper{},
}

// A looseText is a text column type under which the database takes two
// spellings (old, then new) for one value.
type looseText struct {
	dialect, name string
	open          func(testing.TB) (*sqlx.DB, *dbtest.Counter)
	setup         []string
	text          string
	spellings     [][2]string // old, new
}

var looseTexts = []looseText{
	{dialect: "sqlite", name: "nocase", open: dbtest.OpenSQLite, text: "TEXT COLLATE NOCASE",
		spellings: [][2]string{{"Ann@x", "ann@x"}}},
	{dialect: "sqlite", name: "rtrim", open: dbtest.OpenSQLite, text: "TEXT COLLATE RTRIM",
		spellings: [][2]string{{"ann@x  ", "ann@x"}}},
	{dialect: "mysql", name: "general_ci", open: dbtest.OpenMySQL, text: "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
		spellings: [][2]string{{"Ann@x ", "ann@x"}, {"dåve@x", "Dave@x"}}},
	{dialect: "mysql", name: "latin1_swedish_ci", open: dbtest.OpenMySQL, text: "VARCHAR(64) CHARACTER SET latin1 COLLATE latin1_swedish_ci",
		spellings: [][2]string{{"Åsa@x ", "åsa@x"}, {"éva@x", "Eva@x"}}},
	{dialect: "mysql", name: "char", open: dbtest.OpenMySQL, text: "CHAR(24) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
		spellings: [][2]string{{"Ann@x", "ann@x"}}},
	{dialect: "postgres", name: "icu_ci", open: dbtest.OpenPostgres, text: "text COLLATE ci",
		setup:     []string{"CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"},
		spellings: [][2]string{{"Ann@x", "ann@x"}}},
	{dialect: "postgres", name: "icu_ai", open: dbtest.OpenPostgres, text: "text COLLATE ai",
		setup:     []string{"CREATE COLLATION ai (provider = icu, locale = 'und-u-ks-level1', deterministic = false)"},
		spellings: [][2]string{{"Ann@x", "ann@x"}, {"dåve@x", "Dave@x"}}},
	// citext is internal/openworld/collation's: CREATE EXTENSION is one per
	// database, and that test makes it in its schema.
}

// guardWorld is one namespace with the people and accounts tables of a
// loose text type, and cached tables on a store of their own.
type guardWorld struct {
	t        *testing.T
	ctx      context.Context
	db       *sqlx.DB
	count    *dbtest.Counter
	people   *engine.Table[person]
	accounts *engine.Table[account]
	wrong    []string // answers that were not the database's
}

func newGuardWorld(t *testing.T, c looseText) *guardWorld {
	t.Helper()
	db, count := c.open(t)
	for _, s := range append(append([]string(nil), c.setup...),
		fmt.Sprintf("CREATE TABLE people (id BIGINT PRIMARY KEY, email %s NOT NULL UNIQUE, v VARCHAR(64) NOT NULL)", c.text),
		fmt.Sprintf("CREATE TABLE accounts (name %s PRIMARY KEY, note VARCHAR(64) NOT NULL)", c.text),
	) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	w := &guardWorld{t: t, ctx: context.Background(), db: db, count: count}
	if w.people, err = engine.NewTable(db, store, &personSpec); err != nil {
		t.Fatal(err)
	}
	if w.accounts, err = engine.NewTable(db, store, &accountSpec); err != nil {
		t.Fatal(err)
	}
	return w
}

// oracle returns the row the database finds with query, nil for none.
func guardOracle[T any](w *guardWorld, query string, arg any) *T {
	w.t.Helper()
	var rows []T
	if err := w.db.SelectContext(w.ctx, &rows, w.db.Rebind(query), arg); err != nil {
		w.t.Fatal(err)
	}
	if len(rows) == 0 {
		return nil
	}
	return &rows[0]
}

// check reads probe's index i through the cache, twice (the second may be
// a hit), and notes an answer that is not want.
func check[T comparable](w *guardWorld, tbl *engine.Table[T], what string, i int, probe *T, want *T) {
	w.t.Helper()
	for range 2 {
		got, err := tbl.Get(w.ctx, i, probe)
		if errors.Is(err, engine.ErrNotFound) {
			got, err = nil, nil
		}
		if err != nil {
			w.t.Fatalf("%s: %v", what, err)
		}
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			w.wrong = append(w.wrong, fmt.Sprintf("%s = %+v, the database answers %+v", what, deref(got), deref(want)))
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func (w *guardWorld) save(what string, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

// readPerson reads email through the cache and compares with the database.
func (w *guardWorld) readPerson(email string) {
	w.t.Helper()
	type row struct {
		ID    int64  `db:"id"`
		Email string `db:"email"`
		V     string `db:"v"`
	}
	var want *person
	if r := guardOracle[row](w, "SELECT id, email, v FROM people WHERE email = ?", email); r != nil {
		want = &person{r.ID, r.Email, r.V}
	}
	check(w, w.people, fmt.Sprintf("GetByEmail(%q)", email), 1, &person{Email: email}, want)
}

func (w *guardWorld) readAccount(name string) {
	w.t.Helper()
	type row struct {
		Name string `db:"name"`
		Note string `db:"note"`
	}
	var want *account
	if r := guardOracle[row](w, "SELECT name, note FROM accounts WHERE name = ?", name); r != nil {
		want = &account{r.Name, r.Note}
	}
	check(w, w.accounts, fmt.Sprintf("GetByName(%q)", name), 0, &account{Name: name}, want)
}

// respell runs the sequence of one pair of spellings: a row cached under
// its old spelling, then a Save that changes only the spelling, then reads
// of both spellings.
func (w *guardWorld) respell(id int64, old, new string) {
	w.t.Helper()
	w.save("insert", w.people.Save(w.ctx, &person{ID: id, Email: old, V: "first"}))
	w.readPerson(old)
	w.save("respell", w.people.Save(w.ctx, &person{ID: id, Email: new, V: "second"}))
	if guardOracle[struct {
		ID int64 `db:"id"`
	}](w, "SELECT id FROM people WHERE email = ?", old) == nil {
		w.t.Fatalf("the database does not take %q for %q: the case tests nothing", old, new)
	}
	w.readPerson(old)
	w.readPerson(new)

	w.save("insert", w.accounts.Save(w.ctx, &account{Name: old, Note: "first"}))
	w.readAccount(old)
	w.save("respell", w.accounts.Save(w.ctx, &account{Name: new, Note: "second"}))
	w.readAccount(old)
	w.readAccount(new)
}

// TestGuardComparesBytes: on every loose text type (case- and accent-
// insensitive, PAD SPACE, a latin1 column, NOCASE, RTRIM, CHAR,
// nondeterministic ICU), a Save that changes only the spelling of a unique value (or of
// a text primary key) invalidates the cached copy under the old spelling,
// while a Save that keeps the bytes takes the guarded UPDATE: one
// statement, no locked read. The control runs the same sequence with the
// guard of before (the column's own equality): it must read stale rows,
// or the test could not see the difference.
func TestGuardComparesBytes(t *testing.T) {
	for _, c := range looseTexts {
		t.Run(c.dialect+"/"+c.name, func(t *testing.T) {
			t.Parallel()
			w := newGuardWorld(t, c)
			for k, s := range c.spellings {
				w.respell(int64(k+1), s[0], s[1])
			}
			for _, m := range w.wrong {
				t.Error(m)
			}
			w.wrong = nil

			// Bytes kept: the guarded UPDATE, one statement.
			for k, s := range c.spellings {
				w.count.Reset()
				w.save("keep", w.people.Save(w.ctx, &person{ID: int64(k + 1), Email: s[1], V: "third"}))
				if q, e := w.count.Queries(), w.count.Execs(); q != 0 || e != 1 {
					t.Errorf("Save keeping email %q: %d queries and %d statements, want the guarded UPDATE alone (0 and 1): %s",
						s[1], q, e, engine.GuardSQL(w.ctx, w.people))
				}
				w.count.Reset()
				w.save("keep", w.accounts.Save(w.ctx, &account{Name: s[0], Note: "third"}))
				if q, e := w.count.Queries(), w.count.Execs(); q != 0 || e != 1 {
					t.Errorf("Save keeping name %q: %d queries and %d statements, want the guarded UPDATE alone (0 and 1): %s",
						s[0], q, e, engine.GuardSQL(w.ctx, w.accounts))
				}
				w.readPerson(s[0])
				w.readPerson(s[1])
				w.readAccount(s[0])
			}
			for _, m := range w.wrong {
				t.Error(m)
			}

			control := newGuardWorld(t, c)
			engine.UseLooseGuard(control.ctx, control.people)
			engine.UseLooseGuard(control.ctx, control.accounts)
			for k, s := range c.spellings {
				control.respell(int64(k+1), s[0], s[1])
			}
			if len(control.wrong) == 0 {
				t.Errorf("control: the column's own equality as the guard read no stale row: the test cannot tell the guards apart (%s)",
					strings.Join([]string{engine.GuardSQL(w.ctx, control.people), engine.GuardSQL(w.ctx, control.accounts)}, "; "))
			}
		})
	}
}

// TestGuardSessionCharset: on MariaDB/MySQL the byte comparison holds the
// column converted to utf8mb4 against the bound bytes, which is what the
// driver reads back only on a utf8mb4 connection. On a latin1 one the
// guard matches nothing (no error either) and every update takes the
// locked path, still invalidating the old spelling.
func TestGuardSessionCharset(t *testing.T) {
	c := looseTexts[2]
	if c.name != "general_ci" {
		t.Fatalf("looseTexts[2] is %s, want general_ci", c.name)
	}
	c.open = func(tb testing.TB) (*sqlx.DB, *dbtest.Counter) {
		return dbtest.OpenMySQLWith(tb, func(cfg *mysql.Config) { cfg.Collation = "latin1_swedish_ci" })
	}
	w := newGuardWorld(t, c)
	var cs string
	if err := w.db.Get(&cs, "SELECT @@character_set_results"); err != nil || cs != "latin1" {
		t.Fatalf("the session's result charset is %q (%v), want latin1", cs, err)
	}
	w.respell(1, "Ann@x ", "ann@x")
	for _, m := range w.wrong {
		t.Error(m)
	}
	w.count.Reset()
	w.save("keep", w.people.Save(w.ctx, &person{ID: 1, Email: "ann@x", V: "third"}))
	if w.count.Queries() == 0 {
		t.Errorf("on a latin1 connection a Save keeping its email took the guarded UPDATE: %s", engine.GuardSQL(w.ctx, w.people))
	}
	w.readPerson("ann@x")
	for _, m := range w.wrong {
		t.Error(m)
	}
}
