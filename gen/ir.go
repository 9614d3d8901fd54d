package gen

import (
	"go/token"
	"go/types"
	"time"
)

// Package is one loaded Go package and the models it declares.
type Package struct {
	Name  string  // package name, as in the package clause
	Path  string  // import path
	Dir   string  // absolute directory
	Files []*File // files that declare at least one model, sorted by Source
}

// File is one source file that declares models; it gets one generated file.
type File struct {
	Source string   // absolute path of the user's .go file
	Output string   // absolute path of the generated file: foo.go -> foo_cachegen.go
	Models []*Model // in declaration order
}

// Model is a struct with a `cache:"pk"` field.
type Model struct {
	Name    string        // Go type name, e.g. "User"
	Table   string        // SQL table name (directive, or snake_case plural of Name)
	TTL     time.Duration // from the directive's ttl=; 0 means the runtime default
	Schema  string        // 8 hex digits hashing table, columns and codec types
	Fields  []*Field      // every column, in declaration order (db:"-" fields excluded)
	PK      *Field        // the primary key; also Fields[i] for some i
	AutoPK  bool          // the database generates the pk (integer pk without the "manual" option)
	Uniques []*Index      // unique fields and unique_together groups, in declaration order of their first field
	Related []*Related    // db:"-" fields: never read, written, encoded or cached
	Pos     token.Position
}

// Field is one column of a model.
type Field struct {
	Name   string     // Go field name
	Column string     // db tag
	Type   types.Type // the field's declared type
	Codec  *Codec     // how the field is encoded in the cache
	FK     *FK        // non-nil for a field tagged fk=Model
	Pos    token.Position
}

// FK is a foreign key declared with fk=Model.
type FK struct {
	Target string // model name as written in the tag
	Model  *Model // the resolved target model (same package)
}

// Index is a unique lookup: one unique field, or a whole unique_together group.
type Index struct {
	Name   string   // key segment: the column of a unique field, or the group name
	Fields []*Field // in declaration order
	Method string   // generated getter: "GetBy" + field names, e.g. GetByEmail, GetByOrgIDHandle
	Pos    token.Position
}

// Related is a field excluded from the row with db:"-" (a related object).
type Related struct {
	Name string
	Type types.Type
	Pos  token.Position
}

// CodecKind is the family of encoding used for a value.
type CodecKind int

// The codec families. Named types use the family of their underlying type,
// converting on the way in and out.
const (
	CodecInt       CodecKind = iota // int, int8..int64: zigzag varint
	CodecUint                       // uint, uint8..uint64, uintptr: varint
	CodecFloat32                    // float32: 4 bytes
	CodecFloat64                    // float64: 8 bytes
	CodecBool                       // bool: 1 byte
	CodecString                     // string: length + bytes
	CodecBytes                      // []byte: length + bytes (nil and empty kept apart)
	CodecTime                       // time.Time: time's own binary form
	CodecByteArray                  // [N]byte: N raw bytes
	CodecMarshaler                  // encoding.BinaryMarshaler + *T encoding.BinaryUnmarshaler: length + bytes
	CodecNull                       // database/sql Null types (sql.NullString, ..., sql.Null[T]): valid byte + value
	CodecPointer                    // *T over any other family: presence byte + value
)

// Codec describes how one Go type is carried in the cache.
type Codec struct {
	Kind CodecKind
	// Type is the Go type being encoded (possibly named).
	Type types.Type
	// Named reports that Type is a defined type whose underlying type gives
	// the family, so the emitted code converts (e.g. int64(v) and Kind(x)).
	Named bool
	// Len is the array length of a CodecByteArray.
	Len int64
	// Elem is the element of a CodecPointer, or the value inside a CodecNull.
	Elem *Codec
	// NullField names the value field of a CodecNull ("String", "Int64", "V", ...).
	NullField string
}
