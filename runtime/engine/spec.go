package engine

import (
	"fmt"
	"time"
)

// Spec describes a model to the runtime. Generated code declares one per
// model; the runtime builds the SQL, the keys and the protocol from it.
type Spec[T any] struct {
	Table      string        // SQL table name
	SchemaHash string        // hash of the columns and their types (hex); in every cached value's header, never in keys
	TTL        time.Duration // cached row lifetime; 0 means the runtime default
	Columns    []string      // every column, in the order Mapper.Scan and Mapper.Values use
	Types      []GoType      // the Go type of each column, in Columns order (for WithVerify)
	Indexes    []Index       // Indexes[0] is the primary key; the rest are unique lookups
	AutoPK     bool          // the database generates the primary key (an integer)
	// Flat says every column holds a value sharing no memory a caller could
	// write through (no slice, map or pointer): a near cache keeps one
	// decoded row and hands out shallow copies instead of decoding per read.
	Flat   bool
	Mapper Mapper[T]
}

// Index is one lookup that names at most one row.
type Index struct {
	Name    string     // the pk or unique column, or the unique_together group, for events and errors (keys name the columns)
	Columns []int      // positions in Spec.Columns
	Misses  MissPolicy // whether a confirmed miss may be cached
	// Text lists the Columns that hold text or bytes (positions in
	// Spec.Columns), whose comparison depends on the database column: under
	// CacheMissesIfExact a miss is cached only when the database compares
	// every one of them byte for byte.
	Text []int
}

// MissPolicy says what the generator knows about how the database compares
// an index's values, and so when a lookup the database answers with no row
// may be cached as not-found. A cached not-found is invalidated through the
// key of the row that later appears; that is only sound when the database
// finds a row exactly when the row's own key is the lookup's key.
type MissPolicy uint8

const (
	// CacheMisses: every column is an integer or a bool, which every
	// database compares exactly.
	CacheMisses MissPolicy = iota
	// CacheMissesIfExact: some columns hold text or bytes (Index.Text), the
	// rest integers or bools. Whether the database compares them exactly
	// depends on the column's type and collation (a _ci or PAD SPACE
	// collation, citext, NOCASE, char(n) do not): the runtime reads that
	// from the database's catalog, once per table, and caches misses only
	// when every text column of the index is exact. A catalog it cannot
	// read counts as not exact.
	CacheMissesIfExact
	// NeverCacheMisses: a float, a time, a custom type, or a type with a
	// driver.Valuer, which may bind another value than the key is built
	// from (a Valuer that lower-cases, say).
	NeverCacheMisses
)

// Scanner reads one result row; *sql.Row and *sql.Rows implement it.
type Scanner interface {
	Scan(dest ...any) error
}

// Mapper is the per-model code cachegen generates: no reflection on the
// read path.
type Mapper[T any] interface {
	// Scan reads a row whose columns are Spec.Columns, in order.
	Scan(s Scanner, row *T) error
	// Values returns the column values of row, in Spec.Columns order.
	Values(row *T) []any
	// AppendKey appends the key values of index i of row (see AppendKeyString
	// and friends; a unique_together group separates them with AppendKeySep).
	AppendKey(b []byte, i int, row *T) []byte
	// PKIsZero reports whether the primary key of row is the zero value.
	PKIsZero(row *T) bool
	// SetPK stores a database-generated primary key into row (AutoPK only).
	SetPK(row *T, id int64)
	// Encode appends the cached form of row to b.
	Encode(b []byte, row *T) ([]byte, error)
	// Decode reads the cached form of a row; it must fail, never panic, on
	// bytes it did not write. Strings in row may share b's memory: the
	// runtime passes bytes that nothing changes afterwards.
	Decode(b []byte, row *T) error
}

// ScanBytes returns a scan destination that copies a []byte or string
// column into dst, which must come out exactly full: it is how generated
// code scans a [N]byte field (pass v[:]).
func ScanBytes(dst []byte) any { return bytesScanner(dst) }

type bytesScanner []byte

func (b bytesScanner) Scan(src any) error {
	var p []byte
	switch v := src.(type) {
	case []byte:
		p = v
	case string:
		p = []byte(v)
	case nil:
		return fmt.Errorf("cachegen: NULL into a [%d]byte", len(b))
	default:
		return fmt.Errorf("cachegen: %T into a [%d]byte", src, len(b))
	}
	if len(p) != len(b) {
		return fmt.Errorf("cachegen: %d bytes into a [%d]byte", len(p), len(b))
	}
	copy(b, p)
	return nil
}
