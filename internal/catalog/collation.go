package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Querier runs a catalog query: *sql.DB, *sql.Conn, *sql.Tx and *sqlx.DB
// all implement it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Comparison is how the database compares a column's values with a lookup
// value in WHERE column = ?.
type Comparison struct {
	Column    string // as the catalog spells it
	Type      string // the column's type as the catalog names it: "text", "varchar(64)", "citext"
	Collation string // the collation the comparison uses; "" when the type has none
	// Exact reports that the database finds a row exactly when the lookup
	// value and the column's value are the same bytes (or the same number):
	// no case or accent folding, no padding, no conversion.
	Exact bool
	// Loose says, when Exact is false, what makes the comparison loose.
	Loose string
	// Bytewise says how a statement can compare the column with a value
	// byte for byte even where its own equality is loose.
	Bytewise Bytewise
}

// Bytewise is how a statement can compare a column with a bound value so
// that it matches only a row whose value, as a reader reads it back, is
// the bound value's bytes: what a write that trusts a match as "the row
// held these values already" needs (the engine's guarded UPDATE), whatever
// the column's collation.
type Bytewise uint8

const (
	// NotBytewise: no such form is known. A type that converts the value
	// (a number, SQLite's numeric affinity), PostgreSQL's char(n) (read
	// back blank-padded, compared without the blanks), binary(n), a domain
	// over citext, and every type not listed under Comparisons.
	NotBytewise Bytewise = iota
	// BytewiseEqual: the column's own equality is byte equality (Exact).
	BytewiseEqual
	// BytewiseText: text under a loose collation, compared as bytes
	// instead: MariaDB/MySQL char, varchar and the text types (read back
	// without trailing blanks, as the comparison sees them), SQLite TEXT or
	// BLOB affinity under NOCASE, RTRIM or another collation, PostgreSQL
	// text and varchar under a nondeterministic collation.
	BytewiseText
	// BytewiseCitext: PostgreSQL citext, compared as text.
	BytewiseCitext
)

// Comparisons reads how the columns of table compare, in table order, from
// the catalog of the database dialect names: "sqlite", "postgres" or
// "mysql". schema names the PostgreSQL schema, the MariaDB/MySQL database
// or the attached SQLite database; "" means the one an unqualified name
// resolves to (the search path, the current database, main).
//
// Exact is decided for text and binary columns, the only ones whose
// comparison depends on the column rather than on the value's Go type:
//   - PostgreSQL: text, varchar and bytea (or a domain over them) under a
//     deterministic collation. citext, char(n) (blank-padded), a
//     nondeterministic ICU collation and every other type are loose.
//   - MariaDB/MySQL: varchar and the text types under a NO PAD binary
//     collation (*_nopad_bin, utf8mb4_0900_bin), and varbinary and the blob
//     types. Every PAD SPACE collation (the _bin ones included), every
//     _ci/_ai collation, char(n) and binary(n) are loose.
//   - SQLite: a column of TEXT or BLOB affinity under BINARY, its default
//     collation. NOCASE, RTRIM, any other collation and numeric affinity
//     (which converts '01' to 1) are loose.
//
// Everything else is reported loose, so that a caller that trusts only
// Exact never trusts a guess.
func Comparisons(ctx context.Context, q Querier, dialect, schema, table string) ([]Comparison, error) {
	var cs []Comparison
	var err error
	switch dialect {
	case "postgres":
		cs, err = postgresComparisons(ctx, q, schema, table)
	case "mysql":
		cs, err = mysqlComparisons(ctx, q, schema, table)
	case "sqlite":
		cs, err = sqliteComparisons(ctx, q, schema, table)
	default:
		return nil, fmt.Errorf("catalog: unknown dialect %q (want sqlite, postgres or mysql)", dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: columns of %s: %w", qualified(schema, table), err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("catalog: no table %s", qualified(schema, table))
	}
	return cs, nil
}

// Find returns the comparison of column: the one spelled the same, else
// the one spelled the same but for case (MariaDB and SQLite column names
// ignore case).
func Find(cs []Comparison, column string) (Comparison, bool) {
	for _, c := range cs {
		if c.Column == column {
			return c, true
		}
	}
	for _, c := range cs {
		if strings.EqualFold(c.Column, column) {
			return c, true
		}
	}
	return Comparison{}, false
}

func qualified(schema, table string) string {
	if schema == "" {
		return table
	}
	return schema + "." + table
}

// The built-in PostgreSQL types whose equality is byte equality under a
// deterministic collation.
const (
	pgBytea   = 17
	pgText    = 25
	pgVarchar = 1043
)

// postgresQuery lists the columns of a table with their type, the built-in
// type under any domains, and their collation.
const postgresQuery = `WITH RECURSIVE cols AS (
	SELECT a.attnum, a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type,
		a.atttypid, a.attcollation
	FROM pg_attribute a
	WHERE a.attrelid = to_regclass(CASE WHEN $1 = '' THEN quote_ident($2) ELSE quote_ident($1) || '.' || quote_ident($2) END)
		AND a.attnum > 0 AND NOT a.attisdropped
), base AS (
	SELECT attnum, atttypid AS typ, 0 AS depth FROM cols
	UNION ALL
	SELECT b.attnum, t.typbasetype, b.depth + 1 FROM base b JOIN pg_type t ON t.oid = b.typ WHERE t.typtype = 'd'
)
SELECT c.name, c.type,
	(SELECT b.typ FROM base b WHERE b.attnum = c.attnum ORDER BY b.depth DESC LIMIT 1)::int8,
	COALESCE(co.collname::text, ''), COALESCE(co.collisdeterministic, true)
FROM cols c LEFT JOIN pg_collation co ON co.oid = c.attcollation
ORDER BY c.attnum`

func postgresComparisons(ctx context.Context, q Querier, schema, table string) ([]Comparison, error) {
	rows, err := q.QueryContext(ctx, postgresQuery, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Comparison
	for rows.Next() {
		var c Comparison
		var base int64
		var deterministic bool
		if err := rows.Scan(&c.Column, &c.Type, &base, &c.Collation, &deterministic); err != nil {
			return nil, err
		}
		switch {
		case base != pgText && base != pgVarchar && base != pgBytea:
			c.Loose = "type " + c.Type + " is not text, varchar or bytea"
			if c.Type == "citext" || strings.HasSuffix(c.Type, ".citext") {
				c.Loose = "citext ignores case"
				c.Bytewise = BytewiseCitext
			} else if strings.HasPrefix(c.Type, "character(") || c.Type == "bpchar" {
				c.Loose = c.Type + " ignores trailing blanks"
			}
		case !deterministic:
			c.Loose = "collation " + c.Collation + " is nondeterministic"
			c.Bytewise = BytewiseText
		default:
			c.Exact = true
			c.Bytewise = BytewiseEqual
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const mysqlQuery = `SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, COALESCE(COLLATION_NAME, '')
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = IF(? = '', DATABASE(), ?) AND TABLE_NAME = ?
ORDER BY ORDINAL_POSITION`

func mysqlComparisons(ctx context.Context, q Querier, schema, table string) ([]Comparison, error) {
	rows, err := q.QueryContext(ctx, mysqlQuery, schema, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Comparison
	for rows.Next() {
		var c Comparison
		var dataType string
		if err := rows.Scan(&c.Column, &c.Type, &dataType, &c.Collation); err != nil {
			return nil, err
		}
		c.Exact, c.Loose = mysqlExact(strings.ToLower(dataType), strings.ToLower(c.Collation))
		c.Bytewise = mysqlBytewise(strings.ToLower(dataType), c.Exact)
		out = append(out, c)
	}
	return out, rows.Err()
}

// mysqlExact decides a MariaDB/MySQL column from its data type and
// collation.
func mysqlExact(dataType, collation string) (bool, string) {
	switch dataType {
	case "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true, ""
	case "binary":
		return false, "binary(n) pads with zero bytes"
	case "char":
		return false, "char(n) drops trailing blanks"
	case "varchar", "tinytext", "text", "mediumtext", "longtext":
	default:
		return false, "type " + dataType + " is not varchar, text, varbinary or blob"
	}
	switch {
	case strings.HasSuffix(collation, "_nopad_bin"), collation == "utf8mb4_0900_bin", collation == "binary":
		return true, ""
	case strings.Contains(collation, "_ci"), strings.Contains(collation, "_ai"):
		return false, "collation " + collation + " ignores case or accents"
	}
	return false, "collation " + collation + " is PAD SPACE (ignores trailing blanks) or not binary"
}

// mysqlBytewise decides whether a MariaDB/MySQL column can be compared
// byte for byte: an exact one as it is, a character one (a collation,
// whatever its case, accent and pad rules) as text converted to bytes.
// binary(n) is left out: its zero padding is no collation's doing.
func mysqlBytewise(dataType string, exact bool) Bytewise {
	switch {
	case exact:
		return BytewiseEqual
	case dataType == "char", dataType == "varchar", strings.HasSuffix(dataType, "text"):
		return BytewiseText
	}
	return NotBytewise
}

func sqliteComparisons(ctx context.Context, q Querier, schema, table string) ([]Comparison, error) {
	if schema == "" {
		schema = "main"
	}
	var ddl string
	rows, err := q.QueryContext(ctx, "SELECT sql FROM "+sqliteQuote(schema)+".sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", table)
	if err != nil {
		return nil, err
	}
	found := rows.Next()
	if found {
		err = rows.Scan(&ddl)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil || !found {
		return nil, err
	}
	cols, err := sqliteColumns(ddl)
	if err != nil {
		return nil, err
	}
	out := make([]Comparison, len(cols))
	for k, c := range cols {
		out[k] = Comparison{Column: c.name, Type: c.typ, Collation: c.collation}
		coll := strings.ToUpper(c.collation)
		switch aff := sqliteAffinity(c.typ); {
		case aff != "TEXT" && aff != "BLOB":
			out[k].Loose = aff + " affinity converts text that looks like a number"
		case coll != "" && coll != "BINARY":
			out[k].Loose = "collation " + c.collation + " does not compare byte for byte"
			out[k].Bytewise = BytewiseText
		default:
			out[k].Exact = true
			out[k].Bytewise = BytewiseEqual
		}
	}
	return out, nil
}

func sqliteQuote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

// sqliteAffinity is the affinity of a declared type, by SQLite's rules
// (section 3.1 of its datatype documentation).
func sqliteAffinity(typ string) string {
	t := strings.ToUpper(typ)
	switch {
	case strings.Contains(t, "INT"):
		return "INTEGER"
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return "TEXT"
	case strings.Contains(t, "BLOB"), t == "":
		return "BLOB"
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return "REAL"
	}
	return "NUMERIC"
}

// sqliteColumn is one column definition of a CREATE TABLE statement.
type sqliteColumn struct {
	name, typ, collation string
}

// sqliteColumns reads the column definitions of a CREATE TABLE statement:
// each one's name, declared type and COLLATE clause. SQLite keeps the
// statement as it was written (ALTER TABLE edits it), and offers no pragma
// that names a column's collation.
func sqliteColumns(ddl string) ([]sqliteColumn, error) {
	toks, err := sqliteTokens(ddl)
	if err != nil {
		return nil, err
	}
	// The column list is the first top-level parenthesis.
	start := -1
	for k, t := range toks {
		if t.text == "(" {
			start = k + 1
			break
		}
		if strings.EqualFold(t.text, "AS") && !t.quoted {
			return nil, errors.New("a table made by CREATE TABLE … AS SELECT declares no collations")
		}
	}
	if start < 0 {
		return nil, errors.New("no column list in " + ddl)
	}
	var out []sqliteColumn
	var def []token
	depth := 0
	flush := func() {
		if len(def) == 0 {
			return
		}
		if c, ok := sqliteColumnDef(def); ok {
			out = append(out, c)
		}
		def = def[:0]
	}
	for _, t := range toks[start:] {
		if !t.quoted {
			switch t.text {
			case "(":
				depth++
			case ")":
				if depth == 0 {
					flush()
					return out, nil
				}
				depth--
			case ",":
				if depth == 0 {
					flush()
					continue
				}
			}
		}
		def = append(def, token{text: t.text, quoted: t.quoted, depth: depth})
	}
	return nil, errors.New("unterminated column list in " + ddl)
}

// The words that end a column's type and start its constraints, or start
// a table constraint.
var sqliteConstraintWords = map[string]bool{
	"CONSTRAINT": true, "PRIMARY": true, "NOT": true, "NULL": true, "UNIQUE": true, "CHECK": true,
	"DEFAULT": true, "COLLATE": true, "REFERENCES": true, "GENERATED": true, "AS": true, "FOREIGN": true,
}

// sqliteColumnDef reads one element of the column list; a table
// constraint (PRIMARY KEY (…), UNIQUE (…), …) is no column.
func sqliteColumnDef(def []token) (sqliteColumn, bool) {
	first := def[0]
	if !first.quoted && sqliteConstraintWords[strings.ToUpper(first.text)] {
		return sqliteColumn{}, false
	}
	c := sqliteColumn{name: first.text}
	k := 1
	var typ []string
	for ; k < len(def); k++ {
		t := def[k]
		if t.depth == 0 && !t.quoted && sqliteConstraintWords[strings.ToUpper(t.text)] {
			break
		}
		typ = append(typ, t.text)
	}
	c.typ = strings.Join(typ, " ")
	c.typ = strings.NewReplacer(" ( ", "(", " (", "(", "( ", "(", " )", ")", " , ", ",").Replace(c.typ)
	for ; k < len(def); k++ {
		t := def[k]
		if t.depth == 0 && !t.quoted && strings.EqualFold(t.text, "COLLATE") && k+1 < len(def) {
			c.collation = def[k+1].text
		}
	}
	return c, true
}

// token is one token of SQL: a word, a quoted identifier or string (its
// text unquoted), or one punctuation character.
type token struct {
	text   string
	quoted bool
	depth  int // in sqliteColumns: the parenthesis depth within the definition
}

// sqliteTokens splits SQL into tokens, dropping comments and blanks.
func sqliteTokens(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return out, nil
			}
			i += end + 1
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, errors.New("unterminated comment")
			}
			i += end + 4
		case c == '"' || c == '`' || c == '\'' || c == '[':
			closing := c
			if c == '[' {
				closing = ']'
			}
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, errors.New("unterminated quote")
				}
				if s[j] == closing {
					if closing != ']' && j+1 < len(s) && s[j+1] == closing {
						b.WriteByte(closing)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{text: b.String(), quoted: true})
			i = j + 1
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			out = append(out, token{text: s[i:j]})
			i = j
		default:
			out = append(out, token{text: s[i : i+1]})
			i++
		}
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
