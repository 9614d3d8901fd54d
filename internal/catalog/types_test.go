package catalog

import "testing"

// TestFits is the type table of the check: which column types each Go
// kind can hold every value of, per dialect, as the catalogs spell them.
func TestFits(t *testing.T) {
	cases := []struct {
		d    Dialect
		typ  string
		k    Kind
		fits bool
	}{
		{Postgres, "integer", Int32, true},
		{Postgres, "bigint", Int32, false},
		{Postgres, "integer", Int64, true},
		{Postgres, "smallint", Int8, false},
		{Postgres, "smallint", Uint16, false}, // negative values
		{Postgres, "real", Float32, true},
		{Postgres, "double precision", Float32, false},
		{Postgres, "numeric(10,2)", Float64, true},
		{Postgres, "numeric(10,2)", Int64, false},
		{Postgres, "boolean", Bool, true},
		{Postgres, "integer", Bool, false},
		{Postgres, "text", String, true},
		{Postgres, "citext", String, true},
		{Postgres, "character varying(64)", String, true},
		{Postgres, "uuid", String, true},
		{Postgres, "bytea", Bytes, true},
		{Postgres, "bytea", String, true},
		{Postgres, "bytea", ByteArray, true},
		{Postgres, "text", Int64, false},
		{Postgres, "timestamp with time zone", Time, true},
		{Postgres, "timestamp(3) without time zone", Time, true},
		{Postgres, "date", Time, true},
		{Postgres, "text", Time, false},
		{Postgres, "interval", String, false},
		{Postgres, "text[]", String, false},
		{Postgres, "interval", Other, true}, // a type that scans itself is not checked

		{MySQL, "int(10) unsigned", Uint32, true},
		{MySQL, "int(10) unsigned", Int32, false},
		{MySQL, "int(10) unsigned", Int64, true},
		{MySQL, "int(11)", Uint32, false},
		{MySQL, "bigint(20) unsigned", Int64, false},
		{MySQL, "bigint(20) unsigned", Uint64, true},
		{MySQL, "bigint(20)", Int64, true},
		{MySQL, "mediumint(9)", Int32, true},
		{MySQL, "mediumint(9)", Int16, false},
		{MySQL, "tinyint(1)", Bool, true},
		{MySQL, "tinyint(4)", Int8, true},
		{MySQL, "int(11)", Bool, false},
		{MySQL, "bit(1)", Bool, false},
		{MySQL, "float", Float32, true},
		{MySQL, "double", Float32, false},
		{MySQL, "decimal(10,2)", Float64, true},
		{MySQL, "varchar(255)", String, true},
		{MySQL, "enum('a','b')", String, true},
		{MySQL, "varbinary(16)", ByteArray, true},
		{MySQL, "binary(16)", Bytes, true},
		{MySQL, "longtext", Bytes, true},
		{MySQL, "datetime(6)", Time, true},
		{MySQL, "time", Time, false},
		{MySQL, "varchar(255)", Int64, false},

		{SQLite, "", Int64, true}, // no declared type: anything
		{SQLite, "INTEGER", Int64, true},
		{SQLite, "INTEGER", Int32, false},
		{SQLite, "INT", Int32, true},
		{SQLite, "SMALLINT", Int16, true},
		{SQLite, "BIGINT", Int32, false},
		{SQLite, "INTEGER", Uint64, false},
		{SQLite, "TEXT", Int64, false},
		{SQLite, "VARCHAR(10)", String, true},
		{SQLite, "BLOB", Bytes, true},
		{SQLite, "BOOLEAN", Bool, true},
		{SQLite, "INTEGER", Bool, true},
		{SQLite, "DATETIME", Time, true},
		{SQLite, "TIMESTAMP", Time, true},
		{SQLite, "TEXT", Time, false},
		{SQLite, "REAL", Float64, true},
		{SQLite, "DOUBLE PRECISION", Float32, false},
		{SQLite, "FLOAT", Float32, true},
		{SQLite, "NUMERIC", Float64, true},
	}
	for _, c := range cases {
		ok, why := fits(c.d, c.k, classify(c.d, c.typ))
		if ok != c.fits {
			t.Errorf("%v column %q, Go %v: fits=%v (%s), want %v", c.d, c.typ, c.k, ok, why, c.fits)
		}
		if !ok && why == "" {
			t.Errorf("%v column %q, Go %v: no reason", c.d, c.typ, c.k)
		}
	}
}

// The type a fix suggests for a kind is one the check accepts for it.
func TestSQLTypeFits(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres, MySQL} {
		for k := Int8; k <= Time; k++ {
			if noColumnType(d, k) {
				continue // the fix is the field's type
			}
			typ := sqlType(d, k)
			if ok, why := fits(d, k, classify(d, typ)); !ok {
				t.Errorf("%v: %v suggests %s, which does not fit it: %s", d, k, typ, why)
			}
		}
	}
}

// TestStringOverDecimal: a string holds a decimal's text form exactly, so
// the check accepts it (init writes numeric columns as strings).
func TestStringOverDecimal(t *testing.T) {
	for _, c := range []struct {
		d   Dialect
		typ string
	}{{Postgres, "numeric(10,2)"}, {MySQL, "decimal(10,2)"}, {SQLite, "NUMERIC"}} {
		if ok, why := fits(c.d, String, classify(c.d, c.typ)); !ok {
			t.Errorf("%v %s: string does not fit: %s", c.d, c.typ, why)
		}
	}
}

// TestSuggest is the type table of cachegen init: the Go kind written for
// each column type the three databases commonly use.
func TestSuggest(t *testing.T) {
	cases := []struct {
		d    Dialect
		typ  string
		k    Kind
		json bool
		ok   bool
	}{
		{Postgres, "smallint", Int16, false, true},
		{Postgres, "integer", Int32, false, true},
		{Postgres, "bigint", Int64, false, true},
		{Postgres, "real", Float32, false, true},
		{Postgres, "double precision", Float64, false, true},
		{Postgres, "numeric(10,2)", String, false, true},
		{Postgres, "boolean", Bool, false, true},
		{Postgres, "text", String, false, true},
		{Postgres, "character varying(64)", String, false, true},
		{Postgres, "character(2)", String, false, true},
		{Postgres, "uuid", String, false, true},
		{Postgres, "json", Bytes, true, true},
		{Postgres, "jsonb", Bytes, true, true},
		{Postgres, "bytea", Bytes, false, true},
		{Postgres, "date", Time, false, true},
		{Postgres, "timestamp without time zone", Time, false, true},
		{Postgres, "timestamp(3) with time zone", Time, false, true},
		{Postgres, "interval", String, false, false},

		{MySQL, "tinyint(1)", Bool, false, true},
		{MySQL, "tinyint(4)", Int8, false, true},
		{MySQL, "tinyint(3) unsigned", Uint8, false, true},
		{MySQL, "smallint(6)", Int16, false, true},
		{MySQL, "mediumint(9)", Int32, false, true},
		{MySQL, "int(11)", Int32, false, true},
		{MySQL, "int(10) unsigned", Uint32, false, true},
		{MySQL, "bigint(20)", Int64, false, true},
		{MySQL, "bigint(20) unsigned", Uint64, false, true},
		{MySQL, "float", Float32, false, true},
		{MySQL, "double", Float64, false, true},
		{MySQL, "decimal(10,2)", String, false, true},
		{MySQL, "varchar(255)", String, false, true},
		{MySQL, "char(36)", String, false, true},
		{MySQL, "longtext", String, false, true},
		{MySQL, "enum('a','b')", String, false, true},
		{MySQL, "uuid", String, false, true},
		{MySQL, "json", Bytes, true, true},
		{MySQL, "varbinary(16)", Bytes, false, true},
		{MySQL, "blob", Bytes, false, true},
		{MySQL, "date", Time, false, true},
		{MySQL, "datetime(6)", Time, false, true},
		{MySQL, "timestamp", Time, false, true},
		{MySQL, "time", String, false, false},

		{SQLite, "INTEGER", Int64, false, true},
		{SQLite, "INT", Int32, false, true},
		{SQLite, "BIGINT", Int64, false, true},
		{SQLite, "SMALLINT", Int16, false, true},
		{SQLite, "REAL", Float64, false, true},
		{SQLite, "FLOAT", Float64, false, true},
		{SQLite, "NUMERIC", String, false, true},
		{SQLite, "DECIMAL(10,2)", String, false, true},
		{SQLite, "BOOLEAN", Bool, false, true},
		{SQLite, "TEXT", String, false, true},
		{SQLite, "VARCHAR(10)", String, false, true},
		{SQLite, "BLOB", Bytes, false, true},
		{SQLite, "DATETIME", Time, false, true},
		{SQLite, "DATE", Time, false, true},
		{SQLite, "TIMESTAMP", Time, false, true},
		{SQLite, "", String, false, false},
	}
	for _, c := range cases {
		k, json, ok := Suggest(c.d, c.typ)
		if k != c.k || json != c.json || ok != c.ok {
			t.Errorf("Suggest(%v, %q) = %v, json %v, ok %v; want %v, %v, %v", c.d, c.typ, k, json, ok, c.k, c.json, c.ok)
		}
		if fit, why := fits(c.d, k, classify(c.d, c.typ)); c.ok && !fit {
			t.Errorf("%v %q: the suggested %v does not pass the check: %s", c.d, c.typ, k, why)
		}
	}
}
