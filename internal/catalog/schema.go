package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// ForeignKey is a foreign key constraint of a table.
type ForeignKey struct {
	Name    string   // the constraint's name ("" when SQLite's is unnamed)
	Columns []string // the referencing columns, in key order
	// RefSchema and RefTable name the referenced table as the catalog
	// spells them; RefColumns its columns, in key order (SQLite leaves them
	// empty when the key names the referenced table's primary key).
	RefSchema, RefTable string
	RefColumns          []string
}

// Tables lists the base tables of schema or, when schema is "", of the
// schema an unqualified name resolves to (PostgreSQL's current schema,
// MySQL's current database, SQLite's main), sorted by name. Views are left
// out: a repository writes to its table.
func Tables(ctx context.Context, q Querier, d Dialect, schema string) ([]string, error) {
	var query string
	switch d {
	case Postgres:
		query = `SELECT c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = COALESCE(NULLIF($1, ''), current_schema()) AND c.relkind IN ('r', 'p')
ORDER BY c.relname`
	case MySQL:
		query = `SELECT TABLE_NAME FROM information_schema.TABLES
WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_TYPE = 'BASE TABLE'
ORDER BY TABLE_NAME`
	case SQLite:
		query = `SELECT name FROM pragma_table_list
WHERE schema = COALESCE(NULLIF(?, ''), 'main') AND type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY name`
	default:
		return nil, fmt.Errorf("catalog: unknown dialect %v", d)
	}
	var names []string
	err := scanAll(ctx, q, query, []any{schema}, func(r *sql.Rows) error {
		var n string
		if err := r.Scan(&n); err != nil {
			return err
		}
		names = append(names, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: tables of %s: %w", orCurrent(schema), err)
	}
	return names, nil
}

func orCurrent(schema string) string {
	if schema == "" {
		return "the current schema"
	}
	return schema
}

// One row per column pair of every foreign key of the table, in key order.
const (
	pgForeignKeys = `
SELECT con.conname, a.attname, rn.nspname, rc.relname, ra.attname
FROM pg_catalog.pg_constraint con
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(col, refcol, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.col
JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refcol
WHERE con.contype = 'f' AND con.conrelid = to_regclass(quote_ident($1) || '.' || quote_ident($2))
ORDER BY con.conname, k.ord`
	myForeignKeys = `
SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION`
	liteForeignKeys = `SELECT id, "from", "table", COALESCE("to", '') FROM pragma_foreign_key_list(?, ?) ORDER BY id, seq`
)

// ForeignKeys reads the foreign keys of t, a table ReadTable returned.
// SQLite's referenced table is in t's own schema (it cannot reference
// another).
func ForeignKeys(ctx context.Context, q Querier, d Dialect, t *Table) ([]ForeignKey, error) {
	var fks []ForeignKey
	byName := map[string]int{}
	add := func(name, col, refSchema, refTable, refCol string) {
		i, ok := byName[name]
		if !ok {
			i = len(fks)
			byName[name] = i
			fks = append(fks, ForeignKey{Name: name, RefSchema: refSchema, RefTable: refTable})
		}
		fk := &fks[i]
		fk.Columns = append(fk.Columns, col)
		if refCol != "" {
			fk.RefColumns = append(fk.RefColumns, refCol)
		}
	}
	var err error
	switch d {
	case Postgres:
		err = scanAll(ctx, q, pgForeignKeys, []any{t.Schema, t.Name}, func(r *sql.Rows) error {
			var name, col, rs, rt, rc string
			if err := r.Scan(&name, &col, &rs, &rt, &rc); err != nil {
				return err
			}
			add(name, col, rs, rt, rc)
			return nil
		})
	case MySQL:
		err = scanAll(ctx, q, myForeignKeys, []any{t.Schema, t.Name}, func(r *sql.Rows) error {
			var name, col, rs, rt, rc string
			if err := r.Scan(&name, &col, &rs, &rt, &rc); err != nil {
				return err
			}
			add(name, col, rs, rt, rc)
			return nil
		})
	case SQLite:
		err = scanAll(ctx, q, liteForeignKeys, []any{t.Name, t.Schema}, func(r *sql.Rows) error {
			var id int
			var col, rt, rc string
			if err := r.Scan(&id, &col, &rt, &rc); err != nil {
				return err
			}
			// SQLite's keys have no names; the id tells them apart.
			add(fmt.Sprint(id), col, t.Schema, rt, rc)
			return nil
		})
		for i := range fks {
			fks[i].Name = ""
		}
	default:
		return nil, fmt.Errorf("catalog: unknown dialect %v", d)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: foreign keys of %s: %w", qualify(t.Schema, t.Name), err)
	}
	return fks, nil
}

// Suggest is the Go kind a new model should give a column of type typ: the
// one kind whose values are exactly the column's (an integer of the
// column's width and sign, float32 for a single-precision float, time for
// a date or timestamp, bytes for a binary column), String for decimals
// (exact, where a float would round), text and every type no kind holds
// (ok is then false: the database's text form is read). json reports a
// JSON column (the caller may prefer json.RawMessage over Bytes).
func Suggest(d Dialect, typ string) (k Kind, json, ok bool) {
	c := classify(d, typ)
	t := strings.ToLower(strings.TrimSpace(typ))
	switch c.fam {
	case famInt:
		if c.tiny && d == MySQL && strings.HasPrefix(t, "tinyint(1)") || strings.HasPrefix(t, "bool") {
			return Bool, false, true // MySQL's BOOLEAN is TINYINT(1)
		}
		bits := c.bits
		if bits == 24 {
			bits = 32
		}
		return intKind(bits, c.unsigned), false, true
	case famFloat:
		if d == SQLite || c.bits > 32 {
			return Float64, false, true // SQLite keeps every float in 8 bytes
		}
		return Float32, false, true
	case famDecimal:
		return String, false, true
	case famBool:
		return Bool, false, true
	case famText:
		if strings.HasPrefix(t, "json") {
			return Bytes, true, true
		}
		return String, false, true
	case famBytes:
		return Bytes, false, true
	case famTime:
		return Time, false, true
	}
	return String, false, false // famAny (an untyped SQLite column), famOther
}

func intKind(bits int, unsigned bool) Kind {
	ks := map[int][2]Kind{8: {Int8, Uint8}, 16: {Int16, Uint16}, 32: {Int32, Uint32}, 64: {Int64, Uint64}}
	pair, ok := ks[bits]
	if !ok {
		pair = ks[64]
	}
	if unsigned {
		return pair[1]
	}
	return pair[0]
}
