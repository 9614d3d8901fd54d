package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cachegen/cachegen/internal/catalog"
)

// Dialect is the SQL flavour a table speaks. One generated file serves all
// of them: the statements are built for the dialect when a repository is
// made.
type Dialect int

// The supported dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
	MySQL
)

func (d Dialect) String() string { return catalog.Dialect(d).String() }

// DialectOf maps a database/sql driver name to its dialect.
func DialectOf(driverName string) (Dialect, error) {
	d, err := catalog.DialectOf(driverName)
	if err != nil {
		return 0, fmt.Errorf("cachegen: unknown database driver %q: pass runtime.WithDialect", driverName)
	}
	return Dialect(d), nil
}

// quote quotes one identifier so that the database reads it as a name and
// nothing else: a column the table lacks is an error on every dialect.
// SQLite takes backticks: it reads a double-quoted name it cannot resolve
// as a string literal, so "note" of a table without that column would
// select the text 'note'.
func (d Dialect) quote(ident string) string {
	if d == Postgres {
		return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
	}
	return "`" + strings.ReplaceAll(ident, "`", "``") + "`"
}

// quoteTable quotes a table name, which may be qualified by a schema (a
// PostgreSQL schema, a MySQL database, an attached SQLite database):
// schema.table becomes two quoted identifiers.
func (d Dialect) quoteTable(name string) string {
	if schema, table, ok := strings.Cut(name, "."); ok {
		return d.quote(schema) + "." + d.quote(table)
	}
	return d.quote(name)
}

// checkTableName reports a table name the statements cannot quote: empty,
// or with an empty part or more than one dot.
func checkTableName(name string) error {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return fmt.Errorf("cachegen: table name %q has more than one dot: name a table as table or schema.table", name)
	}
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("cachegen: table name %q has an empty part: name a table as table or schema.table", name)
		}
	}
	return nil
}

// placeholder returns the n-th (1-based) bind parameter.
func (d Dialect) placeholder(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// statements are the SQL a table runs, built once per repository.
type statements struct {
	selectBy      []string // per index: SELECT <cols> FROM t WHERE <index cols> = ...
	selectAll     string   // SELECT <cols> FROM t ORDER BY pk
	lockRow       string   // SQLite only: a no-op UPDATE that takes the write lock first
	selectForUpd  string   // SELECT <cols> FROM t WHERE pk = ? [FOR UPDATE]
	insert        string   // INSERT of every column
	insertAuto    string   // INSERT of every column but the pk [RETURNING pk]
	update        string   // UPDATE of every column but the pk, by pk ("" when there is none)
	deleteByPK    string
	autoReturning bool // insertAuto ends in RETURNING (read the pk with a query)
	// guarded is update with "AND <col> = ?" for every column of a unique
	// index: a row it matches kept its unique values (see Table.Save).
	// Built with every column's own equality, which tables whose indexes
	// are all integers and bools use; one with text indexes builds its own
	// from the catalog (guardFor). Empty when update is.
	guarded   guarded
	updatePhs int // the placeholders of update: the guard's come after them
	// deleteReturning deletes by pk and returns the deleted row, where the
	// database can (see Table.deleteReturns).
	deleteReturning string
}

func buildStatements(d Dialect, table string, columns []string, indexes []Index, pk int) statements {
	q := d.quote
	cols := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = q(c)
	}
	tbl := d.quoteTable(table)
	selectList := strings.Join(cols, ", ")
	where := func(idx []int, first int) string {
		parts := make([]string, len(idx))
		for i, c := range idx {
			parts[i] = cols[c] + " = " + d.placeholder(first+i)
		}
		return strings.Join(parts, " AND ")
	}
	var s statements
	for _, ix := range indexes {
		s.selectBy = append(s.selectBy, "SELECT "+selectList+" FROM "+tbl+" WHERE "+where(ix.Columns, 1))
	}
	pkCol := cols[pk]
	s.selectAll = "SELECT " + selectList + " FROM " + tbl + " ORDER BY " + pkCol
	s.selectForUpd = "SELECT " + selectList + " FROM " + tbl + " WHERE " + pkCol + " = " + d.placeholder(1)
	if d == SQLite {
		// SQLite has no row locks: a write statement first takes the database's
		// write lock, so the read that follows sees the row no other writer can
		// change before commit.
		s.lockRow = "UPDATE " + tbl + " SET " + pkCol + " = " + pkCol + " WHERE " + pkCol + " = " + d.placeholder(1)
	} else {
		s.selectForUpd += " FOR UPDATE"
	}

	ph := make([]string, len(cols))
	for i := range cols {
		ph[i] = d.placeholder(i + 1)
	}
	s.insert = "INSERT INTO " + tbl + " (" + selectList + ") VALUES (" + strings.Join(ph, ", ") + ")"

	var rest, restPh, sets []string
	for i, c := range cols {
		if i == pk {
			continue
		}
		rest = append(rest, c)
		restPh = append(restPh, d.placeholder(len(rest)))
		sets = append(sets, c+" = "+d.placeholder(len(sets)+1))
	}
	if len(rest) == 0 {
		s.insertAuto = "INSERT INTO " + tbl + " DEFAULT VALUES"
		if d == MySQL {
			s.insertAuto = "INSERT INTO " + tbl + " () VALUES ()"
		}
	} else {
		s.insertAuto = "INSERT INTO " + tbl + " (" + strings.Join(rest, ", ") + ") VALUES (" + strings.Join(restPh, ", ") + ")"
	}
	if d == Postgres {
		s.insertAuto += " RETURNING " + pkCol
		s.autoReturning = true
	}
	if len(sets) > 0 {
		s.update = "UPDATE " + tbl + " SET " + strings.Join(sets, ", ") + " WHERE " + pkCol + " = " + d.placeholder(len(sets)+1)
	}
	s.deleteByPK = "DELETE FROM " + tbl + " WHERE " + pkCol + " = " + d.placeholder(1)
	s.deleteReturning = s.deleteByPK + " RETURNING " + selectList
	if s.update != "" {
		s.updatePhs = len(sets) + 1
		s.guarded, _ = d.guardsFor(&s, columns, indexes, pk, nil)
	}
	return s
}

// guardsFor builds s's guarded UPDATE (guardFor) and, on the same columns
// compared the same way, its guarded DELETE by pk.
func (d Dialect) guardsFor(s *statements, columns []string, indexes []Index, pk int, how func(col int) catalog.Bytewise) (guarded, bool) {
	g, ok := d.guardFor(s.update, s.updatePhs, columns, indexes, pk, how)
	if !ok {
		return guarded{}, false
	}
	del, _ := d.guardFor(s.deleteByPK, 1, columns, indexes, pk, how)
	g.del = del.sql
	return g, true
}

// guarded is a guarded UPDATE: its statement, and the columns whose values
// are bound after the update's own arguments, in order.
type guarded struct {
	sql  string
	cols []int
	del  string // the guarded DELETE by pk: the pk's argument, then cols'
}

// guardFor builds the guarded UPDATE from update (which binds phs
// placeholders, the pk's last): every column of a unique index other than
// the pk must equal its new value byte for byte, as the cache key is built
// from the value's bytes. how says how the catalog lets each text column
// be compared (nil: by its own equality, for integers and bools); a text
// column it has no byte-for-byte form for makes ok false. A primary key
// compared loosely keeps its own equality, which finds the row by its
// index, and is compared byte for byte besides.
func (d Dialect) guardFor(update string, phs int, columns []string, indexes []Index, pk int, how func(col int) catalog.Bytewise) (g guarded, ok bool) {
	// form is how column c of an index (text: its text columns) is
	// compared: integers and bools by their own equality, text as how says.
	form := func(c int, text []int) catalog.Bytewise {
		if how == nil || !slices.Contains(text, c) {
			return catalog.BytewiseEqual
		}
		return how(c)
	}
	var conds []string
	bytesForm := false // some column is compared as bytes rather than by its equality
	add := func(c int, f catalog.Bytewise) {
		g.cols = append(g.cols, c)
		conds = append(conds, d.bytewise(d.quote(columns[c]), d.placeholder(phs+len(g.cols)), f))
		bytesForm = bytesForm || f != catalog.BytewiseEqual
	}
	switch f := form(pk, indexes[0].Text); f {
	case catalog.NotBytewise:
		return guarded{}, false
	case catalog.BytewiseEqual: // update's own pk = ? says it all
	default:
		add(pk, f)
	}
	for _, ix := range indexes[1:] {
		for _, c := range ix.Columns {
			if c == pk || slices.Contains(g.cols, c) {
				continue
			}
			f := form(c, ix.Text)
			if f == catalog.NotBytewise {
				return guarded{}, false
			}
			add(c, f)
		}
	}
	g.sql = update
	if d == MySQL && bytesForm {
		g.sql += mysqlSessionUTF8
	}
	for _, c := range conds {
		g.sql += " AND " + c
	}
	return g, true
}

// mysqlSessionUTF8 makes a MariaDB/MySQL guard match nothing unless the
// connection speaks utf8mb4 both ways: the byte comparison (bytewise)
// holds the column's value converted to utf8mb4 against the bound bytes,
// which is the key's spelling only when the driver reads and binds text
// in utf8mb4 (go-sql-driver/mysql's default). Checked first, so that no
// value is converted otherwise (a conversion that fails is an error under
// strict mode, not a false).
const mysqlSessionUTF8 = " AND @@character_set_client = 'utf8mb4' AND @@character_set_connection = 'utf8mb4' AND @@character_set_results = 'utf8mb4'"

// bytewise compares the quoted column col with the placeholder ph as the
// catalog says it can be, byte for byte:
//   - MariaDB/MySQL text: the value converted to utf8mb4 (what a reader
//     reads: a char(n) without its trailing blanks, a latin1 value
//     re-encoded), as binary, against the bound bytes as binary. No
//     collation takes part, so neither case, accents nor PAD SPACE do.
//   - SQLite text: COLLATE BINARY, a memcmp (NOCASE and RTRIM set aside).
//   - PostgreSQL text under a nondeterministic collation: COLLATE "C",
//     deterministic, whose equality is byte equality; citext compared as
//     text (its own = folds case whatever the collation).
func (d Dialect) bytewise(col, ph string, how catalog.Bytewise) string {
	switch {
	case how == catalog.BytewiseEqual:
		return col + " = " + ph
	case d == MySQL:
		return "CAST(CONVERT(" + col + " USING utf8mb4) AS BINARY) = CAST(" + ph + " AS BINARY)"
	case d == SQLite:
		return col + " = " + ph + " COLLATE BINARY"
	case how == catalog.BytewiseCitext:
		return col + "::text = " + ph + `::text COLLATE "C"`
	}
	return col + " = " + ph + ` COLLATE "C"`
}
