package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Dialect is the database a catalog is read from. runtime.Dialect has the
// same values (runtime's dialect test pins them).
type Dialect int

// The dialects whose catalogs can be read.
const (
	SQLite Dialect = iota + 1
	Postgres
	MySQL
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// DialectOf maps a database/sql driver name to its dialect.
func DialectOf(driverName string) (Dialect, error) {
	switch driverName {
	case "sqlite", "sqlite3", "nrsqlite3":
		return SQLite, nil
	case "pgx", "pgx/v5", "postgres", "pq-timeouts", "cloudsqlpostgres", "nrpostgres", "cockroach":
		return Postgres, nil
	case "mysql", "nrmysql":
		return MySQL, nil
	}
	return 0, fmt.Errorf("unknown database driver %q", driverName)
}

// Table is what the database says about one table.
type Table struct {
	Schema  string   // the schema (MySQL: database; SQLite: main or an attached name) it was found in
	Name    string   // as the catalog spells it
	Columns []Column // in the table's order
	// PrimaryKey lists the primary key's columns in key order; empty when
	// the table has none.
	PrimaryKey []string
	// PrimaryKeyName is the primary key constraint's name ("" when unnamed
	// or absent).
	PrimaryKeyName string
	// Indexes are the table's indexes and unique constraints, the primary
	// key's own index excluded, sorted by name.
	Indexes []Index
}

// Column is one column of a table.
type Column struct {
	Name    string
	Type    string // as the database spells it: bigint, character varying(64), int(10) unsigned, TEXT
	NotNull bool
	// Generated says the database assigns the value on insert: a serial
	// or identity column, AUTO_INCREMENT, SQLite's INTEGER PRIMARY KEY.
	Generated bool
}

// Index is an index or unique constraint.
type Index struct {
	Name    string
	Columns []string // key columns in order; "" for an expression
	Unique  bool
	// Partial says a WHERE clause limits it to some rows.
	Partial bool
	// Expression says a key part is an expression or a column prefix
	// (MySQL's col(10)), not a whole column.
	Expression bool
}

// Column returns the column called name, or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// SplitName splits a schema-qualified table name ("schema.table") at its
// first dot; schema is "" for a plain name.
func SplitName(qualified string) (schema, name string) {
	if i := strings.IndexByte(qualified, '.'); i >= 0 {
		return qualified[:i], qualified[i+1:]
	}
	return "", qualified
}

// ReadTable reads table name from the schema schema or, when schema is "",
// from where the connection resolves an unqualified name (PostgreSQL's
// search path, MySQL's current database, SQLite's temp, main, then attached
// databases). It returns nil and no error when there is no such table.
func ReadTable(ctx context.Context, q Querier, d Dialect, schema, name string) (*Table, error) {
	var t *Table
	var err error
	switch d {
	case Postgres:
		t, err = readPostgres(ctx, q, schema, name)
	case MySQL:
		t, err = readMySQL(ctx, q, schema, name)
	case SQLite:
		t, err = readSQLite(ctx, q, schema, name)
	default:
		return nil, fmt.Errorf("catalog: unknown dialect %v", d)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: table %s: %w", qualify(schema, name), err)
	}
	if t != nil {
		sort.Slice(t.Indexes, func(i, j int) bool { return t.Indexes[i].Name < t.Indexes[j].Name })
	}
	return t, nil
}

func qualify(schema, name string) string {
	if schema == "" {
		return name
	}
	return schema + "." + name
}

// scanAll runs query and calls each for every row.
func scanAll(ctx context.Context, q Querier, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// indexBuilder collects one row per (index, key part) into Indexes, in the
// order the rows come.
type indexBuilder struct {
	list  []Index
	byKey map[string]int
}

func (b *indexBuilder) part(name string, unique bool, column string, expression bool) *Index {
	if b.byKey == nil {
		b.byKey = map[string]int{}
	}
	i, ok := b.byKey[name]
	if !ok {
		i = len(b.list)
		b.byKey[name] = i
		b.list = append(b.list, Index{Name: name, Unique: unique})
	}
	ix := &b.list[i]
	ix.Columns = append(ix.Columns, column)
	if column == "" || expression {
		ix.Expression = true
	}
	return ix
}

// An unqualified name is resolved through the search path, as the
// repository's own statements resolve it.
const pgTable = `
SELECT c.oid::bigint, n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass(CASE WHEN $1 = '' THEN quote_ident($2) ELSE quote_ident($1) || '.' || quote_ident($2) END)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`

// A domain is reported as its base type: what the driver returns.
const pgColumns = `
SELECT a.attname,
       format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END,
                   CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END),
       a.attnotnull,
       a.attidentity <> '' OR COALESCE(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1::bigint::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

// One row per key part of every index (unique constraints and the primary
// key have one too); an expression part has attnum 0 and no name.
const pgIndexes = `
SELECT i.relname, ix.indisunique, ix.indisprimary, ix.indpred IS NOT NULL, COALESCE(a.attname, '')
FROM pg_catalog.pg_index ix
JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid
CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum AND k.attnum > 0
WHERE ix.indrelid = $1::bigint::oid AND k.ord <= ix.indnkeyatts
ORDER BY i.relname, k.ord`

func readPostgres(ctx context.Context, q Querier, schema, name string) (*Table, error) {
	var oid int64
	t := &Table{}
	err := scanAll(ctx, q, pgTable, []any{schema, name}, func(r *sql.Rows) error {
		return r.Scan(&oid, &t.Schema, &t.Name)
	})
	if err != nil {
		return nil, err
	}
	if t.Name == "" {
		return nil, nil
	}
	err = scanAll(ctx, q, pgColumns, []any{oid}, func(r *sql.Rows) error {
		var c Column
		if err := r.Scan(&c.Name, &c.Type, &c.NotNull, &c.Generated); err != nil {
			return err
		}
		t.Columns = append(t.Columns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var b indexBuilder
	err = scanAll(ctx, q, pgIndexes, []any{oid}, func(r *sql.Rows) error {
		var ixName, col string
		var unique, primary, partial bool
		if err := r.Scan(&ixName, &unique, &primary, &partial, &col); err != nil {
			return err
		}
		if primary {
			t.PrimaryKeyName = ixName
			t.PrimaryKey = append(t.PrimaryKey, col)
			return nil
		}
		b.part(ixName, unique, col, false).Partial = partial
		return nil
	})
	t.Indexes = b.list
	return t, err
}

const myTable = `
SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ?`

const myColumns = `
SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'NO', EXTRA LIKE '%auto_increment%'
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY ORDINAL_POSITION`

// SUB_PART is set for a prefix key part (col(10)); COLUMN_NAME is NULL for
// a functional key part (MySQL 8).
const myIndexes = `
SELECT INDEX_NAME, NON_UNIQUE = 0, COALESCE(COLUMN_NAME, ''), SUB_PART IS NOT NULL
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY INDEX_NAME, SEQ_IN_INDEX`

func readMySQL(ctx context.Context, q Querier, schema, name string) (*Table, error) {
	t := &Table{}
	err := scanAll(ctx, q, myTable, []any{schema, name}, func(r *sql.Rows) error {
		return r.Scan(&t.Schema, &t.Name)
	})
	if err != nil {
		return nil, err
	}
	if t.Name == "" {
		return nil, nil
	}
	err = scanAll(ctx, q, myColumns, []any{t.Schema, t.Name}, func(r *sql.Rows) error {
		var c Column
		if err := r.Scan(&c.Name, &c.Type, &c.NotNull, &c.Generated); err != nil {
			return err
		}
		t.Columns = append(t.Columns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var b indexBuilder
	err = scanAll(ctx, q, myIndexes, []any{t.Schema, t.Name}, func(r *sql.Rows) error {
		var ixName, col string
		var unique, prefix bool
		if err := r.Scan(&ixName, &unique, &col, &prefix); err != nil {
			return err
		}
		if ixName == "PRIMARY" {
			t.PrimaryKeyName = ixName
			t.PrimaryKey = append(t.PrimaryKey, col)
			return nil
		}
		b.part(ixName, unique, col, prefix)
		return nil
	})
	t.Indexes = b.list
	return t, err
}

// SQLite's pragma functions take the object's name, then the schema. An
// unqualified name is looked up as SQLite resolves it: temp, main, then
// the attached databases.
const (
	liteTable = `
SELECT schema, name, wr FROM pragma_table_list
WHERE (schema = ? OR ? = '') AND name = ? COLLATE NOCASE AND type IN ('table', 'view')
ORDER BY CASE schema WHEN 'temp' THEN 0 WHEN 'main' THEN 1 ELSE 2 END
LIMIT 1`
	liteColumns = `SELECT name, type, "notnull", pk FROM pragma_table_info(?, ?) ORDER BY cid`
	liteIndexes = `SELECT name, "unique", origin, partial FROM pragma_index_list(?, ?)`
	liteIndex   = `SELECT COALESCE(name, '') FROM pragma_index_info(?, ?) ORDER BY seqno`
)

func readSQLite(ctx context.Context, q Querier, schema, name string) (*Table, error) {
	t := &Table{}
	var withoutRowID bool
	err := scanAll(ctx, q, liteTable, []any{schema, schema, name}, func(r *sql.Rows) error {
		return r.Scan(&t.Schema, &t.Name, &withoutRowID)
	})
	if err != nil {
		return nil, err
	}
	if t.Name == "" {
		return nil, nil
	}
	type pkPart struct {
		col string
		seq int
	}
	var pk []pkPart
	err = scanAll(ctx, q, liteColumns, []any{t.Name, t.Schema}, func(r *sql.Rows) error {
		var c Column
		var typ sql.NullString
		var seq int
		if err := r.Scan(&c.Name, &typ, &c.NotNull, &seq); err != nil {
			return err
		}
		c.Type = typ.String
		if seq > 0 {
			pk = append(pk, pkPart{c.Name, seq})
		}
		t.Columns = append(t.Columns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(pk, func(i, j int) bool { return pk[i].seq < pk[j].seq })
	for _, p := range pk {
		t.PrimaryKey = append(t.PrimaryKey, p.col)
	}
	// A lone INTEGER PRIMARY KEY of a rowid table is the rowid: never NULL,
	// assigned on insert when omitted.
	if len(pk) == 1 && !withoutRowID {
		c := t.Column(pk[0].col)
		if strings.EqualFold(strings.TrimSpace(c.Type), "INTEGER") {
			c.NotNull, c.Generated = true, true
		}
	}
	type liteIndexRow struct {
		name            string
		unique, partial bool
		origin          string
	}
	var list []liteIndexRow
	err = scanAll(ctx, q, liteIndexes, []any{t.Name, t.Schema}, func(r *sql.Rows) error {
		var ix liteIndexRow
		if err := r.Scan(&ix.name, &ix.unique, &ix.origin, &ix.partial); err != nil {
			return err
		}
		list = append(list, ix)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, ix := range list {
		if ix.origin == "pk" {
			continue // the primary key's own index: PrimaryKey says it
		}
		out := Index{Name: ix.name, Unique: ix.unique, Partial: ix.partial}
		err := scanAll(ctx, q, liteIndex, []any{ix.name, t.Schema}, func(r *sql.Rows) error {
			var col string
			if err := r.Scan(&col); err != nil {
				return err
			}
			out.Columns = append(out.Columns, col)
			if col == "" {
				out.Expression = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		t.Indexes = append(t.Indexes, out)
	}
	return t, nil
}
