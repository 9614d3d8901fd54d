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
