package collation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/catalog"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/jmoiron/sqlx"
)

// A comparison is one way a database compares the text columns of the
// models: the column type every text column gets, what must run before the
// tables are made, and whether the database compares it byte for byte (so
// that a confirmed miss may be cached).
type comparison struct {
	name  string
	text  string   // the column type of every text column
	setup []string // run before the tables are created
	exact bool
	// guarded: an update may take the guarded UPDATE, which compares the
	// column byte for byte however the column's own equality compares.
	guarded bool
}

// comparisons lists, per database, the collations it ships: binary ones,
// case-insensitive ones, accent-insensitive ones, PAD SPACE and CHAR.
var comparisons = map[string][]comparison{
	"sqlite": {
		{name: "binary", text: "TEXT", exact: true, guarded: true},
		{name: "nocase", text: "TEXT COLLATE NOCASE", guarded: true},
		{name: "rtrim", text: "TEXT COLLATE RTRIM", guarded: true},
	},
	"postgres": {
		{name: "default", text: "text", exact: true, guarded: true},
		{name: "c", text: `varchar(64) COLLATE "C"`, exact: true, guarded: true},
		{name: "citext", text: "citext", setup: []string{"CREATE EXTENSION citext"}, guarded: true},
		{name: "icu_ci", text: "text COLLATE ci", guarded: true, setup: []string{
			"CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"}},
		{name: "icu_ai", text: "text COLLATE ai", guarded: true, setup: []string{
			"CREATE COLLATION ai (provider = icu, locale = 'und-u-ks-level1', deterministic = false)"}},
		{name: "char", text: "char(24)"}, // read back blank-padded: no byte form
	},
	"mysql": {
		{name: "nopad_bin", text: "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin", exact: true, guarded: true},
		{name: "varbinary", text: "VARBINARY(64)", exact: true, guarded: true},
		{name: "bin", text: "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", guarded: true},
		{name: "general_ci", text: "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", guarded: true},
		{name: "unicode_ci", text: "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", guarded: true},
		{name: "unicode_nopad_ci", text: "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_nopad_ci", guarded: true},
		{name: "char", text: "CHAR(24) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin", guarded: true},
	},
}

// spellings are the text values of the sequences: spellings of two emails
// that some collation takes for equal (case, accents, trailing blanks).
var spellings = []string{
	"dave@x", "Dave@x", "DAVE@X", "dave@x ", "dåve@x", "Dåve@x",
	"carol@x", "Carol@x", "carol@x ", "CAROL@X  ",
}

// world is one database namespace with the tables of a comparison, and
// the repositories that read it: cached on a store and caching off. The
// tables are made once and emptied for each store.
type world struct {
	t      *testing.T
	ctx    context.Context
	db     *sqlx.DB
	count  *dbtest.Counter // the statements db sent
	cached *Repos
	plain  *Repos // a nil store: every read goes to the database
	step   string // what the sequence is doing, for failure messages
	wrong  int    // answers that were not the database's
}

var tables = []string{"posts", "logins", "members", "folded"}

func newWorld(t *testing.T, open func(testing.TB) (*sqlx.DB, *dbtest.Counter), c comparison) *world {
	t.Helper()
	db, count := open(t)
	ctx := context.Background()
	stmts := append(append([]string(nil), c.setup...),
		fmt.Sprintf("CREATE TABLE members (id BIGINT PRIMARY KEY, email %[1]s NOT NULL UNIQUE, org BIGINT NOT NULL, handle %[1]s NOT NULL, UNIQUE (org, handle))", c.text),
		fmt.Sprintf("CREATE TABLE logins (name %[1]s PRIMARY KEY, note %[1]s NOT NULL)", c.text),
		fmt.Sprintf("CREATE TABLE posts (id BIGINT PRIMARY KEY, login %s NOT NULL)", c.text),
		fmt.Sprintf("CREATE TABLE folded (id BIGINT PRIMARY KEY, email %s NOT NULL UNIQUE)", c.text),
	)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	plain, err := NewRepos(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ctx: ctx, db: db, count: count, plain: plain}
}

// on empties the tables and makes the cached repositories on a new store
// of b, under a prefix of their own, for the test t.
func (w *world) on(t *testing.T, b backend) {
	t.Helper()
	w.t, w.step, w.wrong = t, "", 0
	for _, tbl := range tables {
		if _, err := w.db.ExecContext(w.ctx, "DELETE FROM "+tbl); err != nil {
			t.Fatal(err)
		}
	}
	prefix := dbtest.UniqueName()
	store, opts := b.open(t, prefix)
	cached, err := NewRepos(w.db, store, append(opts, runtime.WithPrefix(prefix))...)
	if err != nil {
		t.Fatal(err)
	}
	w.cached = cached
}

// A backend is a store, and the options the repositories on it need.
type backend struct {
	name string
	open func(t testing.TB, prefix string) (runtime.Store, []runtime.Option)
}

// backends are the stores of internal/pairs, and Redis with a near cache.
func backends() []backend {
	var out []backend
	for _, s := range pairs.Stores {
		out = append(out, backend{s.Name, func(t testing.TB, prefix string) (runtime.Store, []runtime.Option) {
			return s.Open(t, prefix), nil
		}})
	}
	return append(out, backend{"redis-near", func(t testing.TB, prefix string) (runtime.Store, []runtime.Option) {
		store, near := pairs.RedisNear(t, prefix)
		return store, []runtime.Option{runtime.WithNearCache(near)}
	}})
}

// TestCollations runs the same write and read sequences on every
// comparison of every database, on every store (memory, Redis, Redis
// Cluster, memcached, Redis with a near cache). Every read is made four
// ways (cached and caching off, single and batch) and each answer must be
// the database's own: a plain query with the same WHERE. The comparisons
// run in parallel, each in a namespace of its own; the stores of one
// comparison share its tables, one after the other.
func TestCollations(t *testing.T) {
	for _, d := range dbtest.Dialects {
		for _, c := range comparisons[d.Name] {
			t.Run(d.Name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				if d.Name == "postgres" {
					requireICU(t, d.Open)
				}
				w := newWorld(t, d.Open, c)
				w.catalogSays(d.Name, c.exact, c.guarded)
				for _, b := range backends() {
					t.Run(b.name, func(t *testing.T) {
						w.on(t, b)
						w.issueSequence()
						w.respellSequence(c.guarded)
						w.missesCached(c.exact)
						w.randomSequence(rand.New(rand.NewPCG(12, uint64(len(c.name)))), 200)
					})
				}
			})
		}
	}
}

// requireICU fails the test when the PostgreSQL server was built without
// ICU: the nondeterministic collations need it.
func requireICU(t *testing.T, open func(testing.TB) (*sqlx.DB, *dbtest.Counter)) {
	t.Helper()
	db, _ := open(t)
	var n int
	if err := db.Get(&n, "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'"); err != nil || n == 0 {
		t.Fatalf("the PostgreSQL server has no ICU collations (%d, %v): the nondeterministic collation cases need them", n, err)
	}
}

// issueSequence is what was seen going wrong: a batch read that answers
// nil for a row the database finds (and caches that), and a cached
// not-found that survives the Save of a row the database finds for it.
func (w *world) issueSequence() {
	w.saveMember(&Member{ID: 1, Email: "Dave@x", Org: 1, Handle: "Dave@x"})
	w.step = "batch before single"
	w.readEmails("dave@x")
	w.readEmail("dave@x")
	w.readHandles(1, "dave@x")

	w.step = "not-found then save"
	w.readEmail("carol@x")
	w.readHandle(1, "carol@x")
	w.saveMember(&Member{ID: 2, Email: "Carol@x", Org: 1, Handle: "Carol@x"})
	w.readEmail("carol@x")
	w.readHandle(1, "carol@x")
	w.readEmails("carol@x", "dave@x", "Carol@x")

	w.step = "loader"
	w.saveLogin(&Login{Name: "Erin@x", Note: "a"})
	w.savePost(&Post{ID: 1, Login: "erin@x"})
	w.readLogins()
	w.readLogin("erin@x")

	w.step = "valuer"
	w.readFolded("Frank@X")
	w.saveFolded(&Folded{ID: 1, Email: "frank@x"})
	w.readFolded("Frank@X")
	w.readFolded("frank@x")
}

// respellSequence saves rows whose unique value (an email, a text
// primary key) changes only its case, its accents or its trailing blanks,
// each read under its old spelling first, and reads both spellings after:
// the update must not leave the old spelling's cached copy for a row the
// database finds under it. Where the comparison allows a guarded UPDATE,
// a Save that keeps the bytes of its values must take it: one statement,
// no locked read.
func (w *world) respellSequence(guarded bool) {
	w.t.Helper()
	for k, s := range [][2]string{{"Gina@x ", "gina@x"}, {"hålle@x", "Halle@x"}, {"Ivo@x", "IVO@X  "}} {
		w.step = fmt.Sprintf("respell %q to %q", s[0], s[1])
		id := int64(20 + k)
		w.saveMember(&Member{ID: id, Email: s[0], Org: 7, Handle: s[0]})
		w.readEmail(s[0])
		w.readHandle(7, s[0])
		w.saveMember(&Member{ID: id, Email: s[1], Org: 7, Handle: s[1]})
		w.readEmail(s[0])
		w.readEmail(s[1])
		w.readHandle(7, s[0])
		w.readHandle(7, s[1])

		w.saveLogin(&Login{Name: s[0], Note: "first"})
		w.readLogin(s[0])
		w.saveLogin(&Login{Name: s[1], Note: "second"})
		w.readLogin(s[0])
		w.readLogin(s[1])
	}

	w.step = "keep the bytes"
	w.saveLogin(&Login{Name: "Jo@x", Note: "first"})
	w.readLogin("Jo@x")
	w.count.Reset()
	w.saveLogin(&Login{Name: "Jo@x", Note: "second"})
	if taken := w.count.Queries() == 0 && w.count.Execs() == 1; taken != guarded {
		w.t.Errorf("%s: Save of a login keeping its name: %d queries and %d statements, want the guarded UPDATE (one statement alone): %v",
			w.step, w.count.Queries(), w.count.Execs(), guarded)
	}
	w.readLogin("Jo@x")
}

// catalogSays checks what the catalog reports of the text columns: exact
// where the comparison is byte for byte, loose with a reason elsewhere.
func (w *world) catalogSays(dialect string, exact, guarded bool) {
	w.t.Helper()
	cs, err := catalog.Comparisons(w.ctx, w.db, dialect, "", "members")
	if err != nil {
		w.t.Fatal(err)
	}
	for _, col := range []string{"email", "handle"} {
		c, ok := catalog.Find(cs, col)
		switch {
		case !ok:
			w.t.Fatalf("catalog: no column %s in %+v", col, cs)
		case c.Exact != exact || c.Exact != (c.Loose == ""):
			w.t.Errorf("catalog: %+v, want exact %v (and a reason when loose)", c, exact)
		case (c.Bytewise != catalog.NotBytewise) != guarded || c.Exact != (c.Bytewise == catalog.BytewiseEqual):
			w.t.Errorf("catalog: %+v, want a byte-for-byte form %v (its own equality exactly when exact)", c, guarded)
		}
	}
	for _, col := range []string{"id", "org"} {
		if c, _ := catalog.Find(cs, col); c.Exact {
			w.t.Errorf("catalog: the integer column %+v is reported exact: only text and binary ones can be", c)
		}
	}
}

// missesCached checks that a confirmed miss is cached exactly where the
// column compares byte for byte: a second lookup of a missing value is
// then answered by the store, without a query. A Lower column never
// caches one: its Valuer binds another value than the key's.
func (w *world) missesCached(exact bool) {
	w.t.Helper()
	w.step = "misses cached"
	lookups := []struct {
		name   string
		exact  bool
		lookup func() error
	}{
		{"GetByEmail", exact, func() error { _, err := w.cached.Members.GetByEmail(w.ctx, "nobody@x"); return err }},
		{"GetByOrgHandle", exact, func() error { _, err := w.cached.Members.GetByOrgHandle(w.ctx, 9, "nobody@x"); return err }},
		{"GetByName", exact, func() error { _, err := w.cached.Logins.GetByName(w.ctx, "nobody@x"); return err }},
		{"Folded GetByEmail", false, func() error { _, err := w.cached.Foldeds.GetByEmail(w.ctx, "nobody@x"); return err }},
	}
	for _, l := range lookups {
		for k := range 2 {
			before := w.count.Queries()
			if err := l.lookup(); !errors.Is(err, runtime.ErrNotFound) {
				w.t.Fatalf("%s: %s(\"nobody@x\"): %v, want not found", w.step, l.name, err)
			}
			if k == 0 {
				continue
			}
			switch queried := w.count.Queries() > before; {
			case l.exact && queried:
				w.t.Errorf("%s: %s: the column compares exactly, yet a confirmed miss was read from the database again", w.step, l.name)
			case !l.exact && !queried:
				w.t.Errorf("%s: %s: the column compares loosely, yet a miss was answered from the cache", w.step, l.name)
			}
		}
	}
}

// randomSequence writes and reads with values drawn from spellings.
func (w *world) randomSequence(r *rand.Rand, n int) {
	pick := func() string { return spellings[r.IntN(len(spellings))] }
	for k := range n {
		w.step = fmt.Sprintf("random step %d", k)
		switch op := r.IntN(20); {
		case op < 4:
			w.saveMember(&Member{ID: r.Int64N(4) + 1, Email: pick(), Org: r.Int64N(2) + 1, Handle: pick()})
		case op < 5:
			w.deleteMember(r.Int64N(4) + 1)
		case op < 6:
			w.saveLogin(&Login{Name: pick(), Note: pick()})
		case op < 7:
			w.savePost(&Post{ID: r.Int64N(3) + 1, Login: pick()})
		case op < 8:
			w.saveFolded(&Folded{ID: r.Int64N(3) + 1, Email: Lower(pick())})
		case op < 11:
			w.readEmail(pick())
		case op < 13:
			w.readEmails(pick(), pick(), pick())
		case op < 15:
			w.readHandle(r.Int64N(2)+1, pick())
		case op < 16:
			w.readHandles(r.Int64N(2)+1, pick())
		case op < 17:
			w.readLogin(pick())
		case op < 18:
			w.readLogins()
		default:
			w.readFolded(Lower(pick()))
		}
	}
}

// A write that the database refuses (a value its collation takes for one
// already there) is no acknowledged write: the sequence goes on.
func (w *world) saved(what string, err error) {
	w.t.Helper()
	if err != nil && (errors.Is(err, runtime.ErrNotFound) || !isConstraint(err)) {
		w.t.Fatalf("%s: %s: %v", w.step, what, err)
	}
}

func isConstraint(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "unique") || strings.Contains(s, "duplicate")
}

func (w *world) saveMember(m *Member) {
	w.t.Helper()
	w.saved(fmt.Sprintf("save %+v", *m), w.cached.Members.Save(w.ctx, m))
}

func (w *world) deleteMember(id int64) {
	w.t.Helper()
	if err := w.cached.Members.Delete(w.ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		w.t.Fatalf("%s: delete %d: %v", w.step, id, err)
	}
}

func (w *world) saveLogin(l *Login) {
	w.t.Helper()
	w.saved(fmt.Sprintf("save %+v", *l), w.cached.Logins.Save(w.ctx, l))
}

func (w *world) savePost(p *Post) {
	w.t.Helper()
	w.saved(fmt.Sprintf("save %+v", *p), w.cached.Posts.Save(w.ctx, p))
}

func (w *world) saveFolded(f *Folded) {
	w.t.Helper()
	w.saved(fmt.Sprintf("save %+v", *f), w.cached.Foldeds.Save(w.ctx, f))
}

// oracle runs query (written with ? placeholders) and returns its one row
// scanned by scan, or nil when there is none.
func oracle[T any](w *world, query string, scan func(*sqlx.Rows, *T) error, args ...any) *T {
	w.t.Helper()
	rows, err := w.db.QueryxContext(w.ctx, w.db.Rebind(query), args...)
	if err != nil {
		w.t.Fatalf("%s: oracle %s: %v", w.step, query, err)
	}
	defer rows.Close()
	var out *T
	for rows.Next() {
		if out != nil {
			w.t.Fatalf("%s: oracle %s %v: more than one row", w.step, query, args)
		}
		out = new(T)
		if err := scan(rows, out); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) memberByEmail(email string) *Member {
	return oracle(w, "SELECT id, email, org, handle FROM members WHERE email = ?", scanMember, email)
}

func (w *world) memberByHandle(org int64, handle string) *Member {
	return oracle(w, "SELECT id, email, org, handle FROM members WHERE org = ? AND handle = ?", scanMember, org, handle)
}

func (w *world) loginByName(name string) *Login {
	return oracle(w, "SELECT name, note FROM logins WHERE name = ?", func(r *sqlx.Rows, l *Login) error {
		return r.Scan(&l.Name, &l.Note)
	}, name)
}

func (w *world) foldedByEmail(email Lower) *Folded {
	return oracle(w, "SELECT id, email FROM folded WHERE email = ?", func(r *sqlx.Rows, f *Folded) error {
		return r.Scan(&f.ID, &f.Email)
	}, email)
}

func scanMember(r *sqlx.Rows, m *Member) error { return r.Scan(&m.ID, &m.Email, &m.Org, &m.Handle) }

// one turns a single lookup's answer into a row or nil.
func one[T any](w *world, what string, row *T, err error) *T {
	w.t.Helper()
	if errors.Is(err, runtime.ErrNotFound) {
		if !errors.Is(err, sql.ErrNoRows) {
			w.t.Fatalf("%s: %s: a not-found that is not sql.ErrNoRows: %v", w.step, what, err)
		}
		return nil
	}
	if err != nil {
		w.t.Fatalf("%s: %s: %v", w.step, what, err)
	}
	return row
}

// same fails the test unless got is want (both nil, or equal rows).
func same[T comparable](w *world, what string, got, want *T) {
	w.t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil || *got != *want:
		w.t.Errorf("%s: %s = %s, the database answers %s", w.step, what, show(got), show(want))
		if w.wrong++; w.wrong == 10 {
			w.t.Fatal("too many wrong answers: stopping here")
		}
	}
}

func show[T any](row *T) string {
	if row == nil {
		return "nothing"
	}
	return fmt.Sprintf("%+v", *row)
}

// readEmail reads one email four times: cached (twice: the second may be
// a hit), caching off, and as a batch of one.
func (w *world) readEmail(email string) {
	w.t.Helper()
	for _, r := range []struct {
		name  string
		repos *Repos
	}{{"cached", w.cached}, {"cached again", w.cached}, {"caching off", w.plain}} {
		row, err := r.repos.Members.GetByEmail(w.ctx, email)
		same(w, fmt.Sprintf("GetByEmail(%q) %s", email, r.name), one(w, "GetByEmail", row, err), w.memberByEmail(email))
	}
	w.readEmails(email)
}

// readEmails reads emails as one batch, cached and caching off, then each
// one on its own through the cache.
func (w *world) readEmails(emails ...string) {
	w.t.Helper()
	for _, r := range []struct {
		name  string
		repos *Repos
	}{{"cached", w.cached}, {"caching off", w.plain}} {
		rows, err := r.repos.Members.GetByEmails(w.ctx, emails)
		if err != nil {
			w.t.Fatalf("%s: GetByEmails(%q): %v", w.step, emails, err)
		}
		for k, e := range emails {
			same(w, fmt.Sprintf("GetByEmails(%q)[%d] %s", emails, k, r.name), rows[k], w.memberByEmail(e))
		}
	}
	for _, e := range emails {
		row, err := w.cached.Members.GetByEmail(w.ctx, e)
		same(w, fmt.Sprintf("GetByEmail(%q) after a batch", e), one(w, "GetByEmail", row, err), w.memberByEmail(e))
	}
}

// readHandle reads the unique_together group, cached (twice) and caching off.
func (w *world) readHandle(org int64, handle string) {
	w.t.Helper()
	for _, r := range []struct {
		name  string
		repos *Repos
	}{{"cached", w.cached}, {"cached again", w.cached}, {"caching off", w.plain}} {
		row, err := r.repos.Members.GetByOrgHandle(w.ctx, org, handle)
		same(w, fmt.Sprintf("GetByOrgHandle(%d, %q) %s", org, handle, r.name), one(w, "GetByOrgHandle", row, err), w.memberByHandle(org, handle))
	}
}

// readHandles reads handle after the rows of the other spellings were
// looked up: a cached answer for one spelling must not answer another.
func (w *world) readHandles(org int64, handle string) {
	w.t.Helper()
	for _, s := range spellings {
		if strings.EqualFold(strings.TrimSpace(s), strings.TrimSpace(handle)) {
			w.readHandle(org, s)
		}
	}
	w.readHandle(org, handle)
}

// readLogin reads a login by its text primary key.
func (w *world) readLogin(name string) {
	w.t.Helper()
	for _, r := range []struct {
		name  string
		repos *Repos
	}{{"cached", w.cached}, {"cached again", w.cached}, {"caching off", w.plain}} {
		row, err := r.repos.Logins.GetByName(w.ctx, name)
		same(w, fmt.Sprintf("GetByName(%q) %s", name, r.name), one(w, "GetByName", row, err), w.loginByName(name))
		rows, err := r.repos.Logins.GetByNames(w.ctx, []string{name})
		if err != nil {
			w.t.Fatalf("%s: GetByNames: %v", w.step, err)
		}
		same(w, fmt.Sprintf("GetByNames([%q]) %s", name, r.name), rows[0], w.loginByName(name))
	}
}

// readLogins loads the login of every post through the loaders.
func (w *world) readLogins() {
	w.t.Helper()
	var posts []Post
	if err := w.db.SelectContext(w.ctx, &posts, "SELECT id, login FROM posts ORDER BY id"); err != nil {
		w.t.Fatal(err)
	}
	ptrs := make([]*Post, len(posts))
	for k := range posts {
		ptrs[k] = &posts[k]
	}
	for _, r := range []struct {
		name  string
		repos *Repos
	}{{"cached", w.cached}, {"cached again", w.cached}, {"caching off", w.plain}} {
		rows, err := r.repos.Posts.LoadLogins(w.ctx, ptrs)
		if err != nil {
			w.t.Fatalf("%s: LoadLogins: %v", w.step, err)
		}
		for k, p := range posts {
			same(w, fmt.Sprintf("LoadLogins[%d] (login %q) %s", k, p.Login, r.name), rows[k], w.loginByName(p.Login))
			row, err := r.repos.Posts.LoadLogin(w.ctx, &p)
			same(w, fmt.Sprintf("LoadLogin(login %q) %s", p.Login, r.name), one(w, "LoadLogin", row, err), w.loginByName(p.Login))
		}
	}
}

// readFolded reads the column whose Go type lower-cases what it binds.
func (w *world) readFolded(email Lower) {
	w.t.Helper()
	for _, r := range []struct {
		name  string
		repos *Repos
	}{{"cached", w.cached}, {"cached again", w.cached}, {"caching off", w.plain}} {
		row, err := r.repos.Foldeds.GetByEmail(w.ctx, email)
		same(w, fmt.Sprintf("Folded GetByEmail(%q) %s", email, r.name), one(w, "GetByEmail", row, err), w.foldedByEmail(email))
		rows, err := r.repos.Foldeds.GetByEmails(w.ctx, []Lower{email})
		if err != nil {
			w.t.Fatalf("%s: GetByEmails: %v", w.step, err)
		}
		same(w, fmt.Sprintf("Folded GetByEmails([%q]) %s", email, r.name), rows[0], w.foldedByEmail(email))
	}
}
