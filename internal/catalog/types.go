package catalog

import (
	"regexp"
	"strconv"
	"strings"
)

// Kind is the Go side of a column: the family of the field's type, as the
// generated scan sees it (a defined type counts as its underlying type).
type Kind uint8

// The kinds. Other is a type whose scanning is its own (a Marshaler, a
// sql.Scanner): its column is not type-checked.
const (
	Other Kind = iota
	Int8
	Int16
	Int32
	Int64
	Uint8
	Uint16
	Uint32
	Uint64
	Float32
	Float64
	Bool
	String
	Bytes
	ByteArray
	Time
)

var kindNames = [...]string{"other", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
	"float32", "float64", "bool", "string", "[]byte", "[N]byte", "time.Time"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// bits returns the width of an integer kind, and whether it is unsigned.
func (k Kind) bits() (int, bool) {
	switch k {
	case Int8:
		return 8, false
	case Int16:
		return 16, false
	case Int32:
		return 32, false
	case Int64:
		return 64, false
	case Uint8:
		return 8, true
	case Uint16:
		return 16, true
	case Uint32:
		return 32, true
	case Uint64:
		return 64, true
	}
	return 0, false
}

// GoType is a field's Go type as the check sees it.
type GoType struct {
	Kind Kind
	// Nullable says the field can hold NULL: a pointer, a database/sql
	// Null type, a []byte.
	Nullable bool
	// Name is the type as the model spells it, for messages ("" prints
	// the kind).
	Name string
}

func (g GoType) String() string {
	if g.Name != "" {
		return g.Name
	}
	if g.Nullable && g.Kind != Bytes {
		return "*" + g.Kind.String()
	}
	return g.Kind.String()
}

// family is the class of a column's database type.
type family int

const (
	famAny family = iota // SQLite column without a declared type: holds anything
	famInt
	famFloat
	famDecimal
	famBool
	famText
	famBytes
	famTime
	famOther // intervals, arrays, geometry, time of day, …: no Go kind fits
)

// colType is a column's database type, classified.
type colType struct {
	fam      family
	bits     int  // famInt, famFloat: the width
	unsigned bool // famInt
	tiny     bool // MySQL TINYINT: also a bool
	length   int  // famBytes of fixed length (MySQL BINARY(n)); 0 otherwise
}

var parenArgs = regexp.MustCompile(`\(([^)]*)\)`)

// classify reads a column type as the dialect spells it.
func classify(d Dialect, typ string) colType {
	t := strings.ToLower(strings.TrimSpace(typ))
	switch d {
	case Postgres:
		return classifyPostgres(t)
	case MySQL:
		return classifyMySQL(t)
	case SQLite:
		return classifySQLite(t)
	}
	return colType{fam: famOther}
}

func classifyPostgres(t string) colType {
	base := t
	if i := strings.IndexByte(base, '('); i >= 0 {
		base = strings.TrimSpace(base[:i])
	}
	if strings.HasSuffix(t, "[]") {
		return colType{fam: famOther}
	}
	switch base {
	case "smallint":
		return colType{fam: famInt, bits: 16}
	case "integer":
		return colType{fam: famInt, bits: 32}
	case "bigint":
		return colType{fam: famInt, bits: 64}
	case "real":
		return colType{fam: famFloat, bits: 32}
	case "double precision":
		return colType{fam: famFloat, bits: 64}
	case "numeric", "money":
		return colType{fam: famDecimal}
	case "boolean":
		return colType{fam: famBool}
	case "text", "character varying", "character", "citext", "name", "uuid", "json", "jsonb", "xml", "inet", "cidr", "macaddr":
		return colType{fam: famText}
	case "bytea":
		return colType{fam: famBytes}
	case "timestamp with time zone", "timestamp without time zone", "date":
		return colType{fam: famTime}
	}
	if strings.HasPrefix(t, "timestamp") {
		return colType{fam: famTime} // timestamp(3) with time zone
	}
	return colType{fam: famOther} // an enum or composite type, interval, time, …
}

func classifyMySQL(t string) colType {
	unsigned := strings.Contains(t, "unsigned")
	base := strings.Fields(parenArgs.ReplaceAllString(t, " "))
	if len(base) == 0 {
		return colType{fam: famOther}
	}
	arg := 0
	if m := parenArgs.FindStringSubmatch(t); m != nil {
		arg, _ = strconv.Atoi(strings.TrimSpace(m[1]))
	}
	switch base[0] {
	case "tinyint", "bool", "boolean":
		return colType{fam: famInt, bits: 8, unsigned: unsigned, tiny: true}
	case "smallint":
		return colType{fam: famInt, bits: 16, unsigned: unsigned}
	case "mediumint":
		return colType{fam: famInt, bits: 24, unsigned: unsigned}
	case "int", "integer":
		return colType{fam: famInt, bits: 32, unsigned: unsigned}
	case "bigint":
		return colType{fam: famInt, bits: 64, unsigned: unsigned}
	case "year":
		return colType{fam: famInt, bits: 16, unsigned: true}
	case "float":
		return colType{fam: famFloat, bits: 32}
	case "double", "real":
		return colType{fam: famFloat, bits: 64}
	case "decimal", "numeric", "dec", "fixed":
		return colType{fam: famDecimal}
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json", "uuid", "inet4", "inet6":
		return colType{fam: famText}
	case "binary":
		return colType{fam: famBytes, length: max(arg, 1)}
	case "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return colType{fam: famBytes}
	case "date", "datetime", "timestamp":
		return colType{fam: famTime}
	}
	return colType{fam: famOther} // bit, time, geometry, …
}

// classifySQLite follows SQLite's type affinity rules (section 3.1 of
// "Datatypes In SQLite"), with the declared names the driver turns into
// time.Time and bool.
func classifySQLite(t string) colType {
	switch {
	case t == "":
		return colType{fam: famAny}
	case strings.Contains(t, "int"):
		// SQLite stores any integer in 64 bits; the declared width is the
		// schema author's word for the range, and the only one there is.
		bits := 64
		switch strings.Fields(parenArgs.ReplaceAllString(t, " "))[0] {
		case "tinyint":
			bits = 8
		case "smallint":
			bits = 16
		case "mediumint":
			bits = 24
		case "int":
			bits = 32
		}
		return colType{fam: famInt, bits: bits, unsigned: strings.Contains(t, "unsigned")}
	case strings.Contains(t, "char"), strings.Contains(t, "clob"), strings.Contains(t, "text"):
		return colType{fam: famText}
	case strings.Contains(t, "blob"):
		return colType{fam: famBytes}
	case strings.Contains(t, "floa"):
		return colType{fam: famFloat, bits: 32} // stored in 8 bytes; declared single
	case strings.Contains(t, "real"), strings.Contains(t, "doub"):
		return colType{fam: famFloat, bits: 64}
	case strings.HasPrefix(t, "bool"):
		return colType{fam: famBool}
	case strings.HasPrefix(t, "date"), strings.HasPrefix(t, "time"):
		return colType{fam: famTime}
	}
	return colType{fam: famDecimal} // NUMERIC affinity
}

// fits says whether a Go value of kind k can hold every value the column
// holds; when not, why is the reason, worded after "column is <type>: ".
func fits(d Dialect, k Kind, c colType) (ok bool, why string) {
	if k == Other || c.fam == famAny {
		return true, ""
	}
	switch k {
	case Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64:
		bits, unsigned := k.bits()
		if c.fam != famInt {
			return false, "not an integer column"
		}
		if unsigned && !c.unsigned {
			return false, "it holds negative values " + k.String() + " cannot"
		}
		if !unsigned && c.unsigned && c.bits >= bits || c.bits > bits {
			return false, "it holds integers wider than " + k.String()
		}
		return true, ""
	case Float32:
		if c.fam != famFloat {
			return false, "not a floating-point column"
		}
		if c.bits > 32 {
			return false, "double precision: float32 would round its values"
		}
		return true, ""
	case Float64:
		if c.fam == famFloat || c.fam == famDecimal {
			return true, ""
		}
		return false, "not a floating-point column"
	case Bool:
		if c.fam == famBool || c.tiny || d == SQLite && c.fam == famInt {
			return true, ""
		}
		return false, "not a boolean column"
	case String:
		// A decimal's text form is exact, where a float would round it.
		if c.fam != famText && c.fam != famBytes && c.fam != famDecimal {
			return false, "not a text, binary or decimal column"
		}
		return true, ""
	case Bytes, ByteArray:
		if c.fam != famText && c.fam != famBytes {
			return false, "not a text or binary column"
		}
		return true, ""
	case Time:
		if c.fam != famTime {
			return false, "not a date or timestamp column"
		}
		return true, ""
	}
	return true, ""
}

// noColumnType reports that dialect d has no column type whose range is
// kind k's: PostgreSQL has no unsigned and no one-byte integer. The fix is
// then the field's type.
func noColumnType(d Dialect, k Kind) bool {
	_, unsigned := k.bits()
	return d == Postgres && (unsigned || k == Int8)
}

// sqlType is the column type that fits k in dialect d, for the DDL of a fix
// (for a kind with noColumnType, the nearest wider one).
func sqlType(d Dialect, k Kind) string {
	switch d {
	case Postgres:
		switch k {
		case Int8, Int16, Uint8:
			return "smallint"
		case Int32, Uint16:
			return "integer"
		case Int64, Uint32:
			return "bigint"
		case Uint64:
			return "numeric(20)"
		case Float32:
			return "real"
		case Float64:
			return "double precision"
		case Bool:
			return "boolean"
		case Bytes, ByteArray:
			return "bytea"
		case Time:
			return "timestamptz"
		}
		return "text"
	case MySQL:
		switch k {
		case Int8:
			return "TINYINT"
		case Int16:
			return "SMALLINT"
		case Int32:
			return "INT"
		case Int64:
			return "BIGINT"
		case Uint8:
			return "TINYINT UNSIGNED"
		case Uint16:
			return "SMALLINT UNSIGNED"
		case Uint32:
			return "INT UNSIGNED"
		case Uint64:
			return "BIGINT UNSIGNED"
		case Float32:
			return "FLOAT"
		case Float64:
			return "DOUBLE"
		case Bool:
			return "BOOLEAN"
		case Bytes, ByteArray:
			return "VARBINARY(255)"
		case Time:
			return "DATETIME(6)"
		}
		return "VARCHAR(255)"
	}
	switch k { // SQLite: the declared width is the range the check trusts
	case Int8:
		return "TINYINT"
	case Int16:
		return "SMALLINT"
	case Int32:
		return "INT"
	case Int64:
		return "INTEGER"
	case Uint8:
		return "TINYINT UNSIGNED"
	case Uint16:
		return "SMALLINT UNSIGNED"
	case Uint32:
		return "INT UNSIGNED"
	case Uint64:
		return "BIGINT UNSIGNED"
	case Float32:
		return "FLOAT"
	case Float64:
		return "REAL"
	case Bool:
		return "BOOLEAN"
	case Bytes, ByteArray:
		return "BLOB"
	case Time:
		return "DATETIME"
	}
	return "TEXT"
}
