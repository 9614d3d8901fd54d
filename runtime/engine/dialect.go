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
	// guardedUpdate is update with "AND <col> = ?" for every column of a
	// unique index (guardCols, after the pk's argument): a row it matches
	// kept its unique values (see Table.Save). "" when update is.
	guardedUpdate string
	guardCols     []int
	// deleteReturning deletes by pk and returns the deleted row, where the
	// database can (see Table.deleteReturns).
	deleteReturning string
	// guardedDelete is deleteByPK with guardedUpdate's guard: its
	// arguments are the pk's, then guardCols'.
	guardedDelete string
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
	for _, ix := range indexes[1:] {
		for _, c := range ix.Columns {
			if c != pk && !slices.Contains(s.guardCols, c) {
				s.guardCols = append(s.guardCols, c)
			}
		}
	}
	// guard is " AND <col> = ?" for each of guardCols, numbered from n.
	guard := func(n int) string {
		var g strings.Builder
		for i, c := range s.guardCols {
			g.WriteString(" AND " + cols[c] + " = " + d.placeholder(n+i))
		}
		return g.String()
	}
	if s.update != "" {
		s.guardedUpdate = s.update + guard(len(sets)+2)
	}
	s.guardedDelete = s.deleteByPK + guard(2)
	return s
}
