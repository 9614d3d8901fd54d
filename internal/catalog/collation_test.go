package catalog

import (
	"reflect"
	"testing"
)

// TestSQLiteColumns reads the column definitions of CREATE TABLE
// statements as SQLite keeps them: quoted names, types with arguments,
// constraints before and after COLLATE, table constraints, comments.
func TestSQLiteColumns(t *testing.T) {
	cases := []struct {
		ddl  string
		want []sqliteColumn
	}{
		{`CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT NOT NULL COLLATE NOCASE UNIQUE, n)`,
			[]sqliteColumn{{"id", "INTEGER", ""}, {"email", "TEXT", "NOCASE"}, {"n", "", ""}}},
		{`CREATE TABLE "we""ird" ([a b] VARCHAR ( 64 ) COLLATE "RTRIM", ` + "`c`" + ` text collate binary check (c <> 'x COLLATE NOCASE'),
			-- a comment, with a comma
			d CHAR(3) DEFAULT ('a' COLLATE NOCASE) /* COLLATE NOCASE */, UNIQUE (c COLLATE NOCASE), CONSTRAINT k PRIMARY KEY (d)) WITHOUT ROWID`,
			[]sqliteColumn{{"a b", "VARCHAR(64)", "RTRIM"}, {"c", "text", "binary"}, {"d", "CHAR(3)", ""}}},
		{`CREATE TABLE g (x INT, y TEXT GENERATED ALWAYS AS (lower(x)) STORED)`,
			[]sqliteColumn{{"x", "INT", ""}, {"y", "TEXT", ""}}},
	}
	for _, c := range cases {
		got, err := sqliteColumns(c.ddl)
		if err != nil {
			t.Errorf("%s: %v", c.ddl, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.ddl, got, c.want)
		}
	}
	for _, bad := range []string{`CREATE TABLE t AS SELECT 1 AS a`, `CREATE TABLE t (a TEXT`, `CREATE TABLE t (a "TEXT)`} {
		if got, err := sqliteColumns(bad); err == nil {
			t.Errorf("%s: %+v, want an error", bad, got)
		}
	}
}

// TestMySQLExact: only NO PAD binary collations and the binary string
// types compare byte for byte.
func TestMySQLExact(t *testing.T) {
	cases := []struct {
		dataType, collation string
		exact               bool
	}{
		{"varchar", "utf8mb4_nopad_bin", true},
		{"text", "utf8mb4_0900_bin", true},
		{"varbinary", "", true},
		{"blob", "", true},
		{"varchar", "utf8mb4_bin", false},
		{"varchar", "utf8mb4_general_ci", false},
		{"varchar", "utf8mb4_unicode_nopad_ci", false},
		{"varchar", "latin1_general_cs", false},
		{"char", "utf8mb4_nopad_bin", false},
		{"binary", "", false},
		{"int", "", false},
	}
	for _, c := range cases {
		exact, why := mysqlExact(c.dataType, c.collation)
		if exact != c.exact || exact != (why == "") {
			t.Errorf("%s %s: exact %v (%q), want %v", c.dataType, c.collation, exact, why, c.exact)
		}
	}
}

// TestMySQLBytewise: an exact column compares bytes as it is; every
// character type, whatever its collation, can be compared as bytes; the
// binary(n) and non-text types cannot.
func TestMySQLBytewise(t *testing.T) {
	cases := []struct {
		dataType, collation string
		want                Bytewise
	}{
		{"varchar", "utf8mb4_nopad_bin", BytewiseEqual},
		{"varbinary", "", BytewiseEqual},
		{"varchar", "utf8mb4_general_ci", BytewiseText},
		{"varchar", "latin1_swedish_ci", BytewiseText},
		{"char", "utf8mb4_nopad_bin", BytewiseText},
		{"mediumtext", "utf8mb4_unicode_ci", BytewiseText},
		{"binary", "", NotBytewise},
		{"int", "", NotBytewise},
		{"decimal", "", NotBytewise},
	}
	for _, c := range cases {
		exact, _ := mysqlExact(c.dataType, c.collation)
		if got := mysqlBytewise(c.dataType, exact); got != c.want {
			t.Errorf("%s %s: %d, want %d", c.dataType, c.collation, got, c.want)
		}
	}
}
