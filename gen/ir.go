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
	// Ignored are the package's files the build configuration leaves out
	// (build constraints, GOOS/GOARCH suffixes), absolute: their models are
	// not seen, so their generated files are neither stale nor orphaned.
	Ignored []string
}

// RegistryFile is the file whose generated file declares Repos and
// NewRepos: the first without a build constraint, or the first file.
func (p *Package) RegistryFile() *File {
	for _, f := range p.Files {
		if f.Constraint == "" {
			return f
		}
	}
	return p.Files[0]
}

// RegistryModels are the models Repos holds: those of the files built
// whenever the registry's file is, which have its build constraint.
func (p *Package) RegistryModels() []*Model {
	reg := p.RegistryFile()
	var models []*Model
	for _, f := range p.Files {
		if f.Constraint == reg.Constraint {
			models = append(models, f.Models...)
		}
	}
	return models
}

// File is one source file that declares models; it gets one generated file.
type File struct {
	Source string   // absolute path of the user's .go file
	Output string   // absolute path of the generated file: foo.go -> foo_cachegen.go
	Models []*Model // in declaration order
	// Constraint is the source's build constraint line ("//go:build
	// integration"), empty when it has none; the generated file carries it,
	// so it is built exactly when its models are.
	Constraint string
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
	// Plural names the model's repository in the package's Repos: Users.
	Plural string
	// Repo is the repository type: UserRepo; New its constructor:
	// NewUserRepo.
	Repo, New string
	// Var is the parameter that holds one row in generated functions (u for
	// User; row where the letter is taken), Vars the one that holds a slice
	// of rows (users).
	Var, Vars string
	// Spec and Mapper name the generated engine.Spec variable and mapper
	// type: userSpec, userMapper.
	Spec, Mapper string
	// PKIndex is the lookup by primary key: GetByID, its batch getter
	// GetByIDs, ordinal 0. The unique lookups follow it (see Lookups).
	PKIndex *Index
	// Relations are the loaders of the model's repository: one per foreign
	// key of the model, then one per unique foreign key of another model of
	// the package that references it (one-to-one), in declaration order.
	Relations []*Relation
}

// Field is one column of a model.
type Field struct {
	Name   string     // Go field name
	Column string     // db tag
	Type   types.Type // the field's declared type
	Codec  *Codec     // how the field is encoded in the cache
	FK     *FK        // non-nil for a field tagged fk=Model
	Pos    token.Position
	// Param is the parameter that carries the field in a generated method
	// (email; typeValue where the name is taken), Params the one that
	// carries a slice of them (emails).
	Param, Params string
}

// FK is a foreign key declared with fk=Model.
type FK struct {
	Target string // model name as written in the tag
	Model  *Model // the resolved target model (same package); nil for another package's
	// Path is the import path of the target's package (the model's own for
	// a target in the same package: fk=Model; fk=path/to/pkg.Model names
	// one in another package).
	Path string
	// Name is the target's type name.
	Name string
	// PK and PKType are the target's primary key field and its type.
	PK     string
	PKType types.Type
	// Get and Batch are the target repository's getter and batch getter of
	// its primary key: GetByID, GetByIDs.
	Get, Batch string
	// Repo is the target's repository type: UserRepo; Vars the variable
	// generated code holds that repository in: users.
	Repo, Vars string
	// Plural is the target's name in its package's Repos: Users.
	Plural string
	// Unique reports that the fk field names one row by itself (it is the
	// pk or unique): at most one row references each target, one-to-one.
	Unique bool
}

// Relation is a loader generated on a model's repository: Load<Name> reads
// the related row of one row, Load<Plural> those of a slice with one batch.
type Relation struct {
	Name   string // Author: LoadAuthor
	Plural string // Authors: LoadAuthors
	// Field is the foreign key: a field of this model for a forward relation
	// (post.AuthorID -> User), a unique field of Source for a reverse one
	// (profile.UserID -> User, loaded from the User).
	Field *Field
	// Reverse is set for a reverse relation: the model that holds Field.
	Reverse *Model
	Pos     token.Position
	// Load and LoadMany are the loaders: LoadAuthor, LoadAuthors.
	Load, LoadMany string
	// Get and GetMany are the methods of the related repository the loaders
	// read through: its getter and batch getter of the key Field holds
	// (GetByID, GetByIDs), or for a reverse relation of Field itself
	// (GetByUserID, GetByUserIDs).
	Get, GetMany string
}

// Index is a unique lookup: one unique field, or a whole unique_together group.
type Index struct {
	Name   string   // key segment: the column of a unique field, or the group name
	Fields []*Field // in declaration order
	Method string   // generated getter: "GetBy" + field names, e.g. GetByEmail, GetByOrgIDHandle
	Pos    token.Position
	// Batch is the batch getter of a one-field index (GetByEmails); empty
	// for a unique_together group.
	Batch string
	// Ordinal is the index's position in the runtime Spec's Indexes: 0 for
	// the primary key, then the unique lookups in order.
	Ordinal int
	// Const names the generated constant that holds Ordinal: userByEmail.
	Const string
	// Misses is what the runtime may do with a miss the database confirmed;
	// Text lists the fields whose equality is the column's collation's, for
	// CacheMissesIfExact.
	Misses MissPolicy
	Text   []*Field
}

// Lookups returns the model's lookups in ordinal order: the primary key,
// then the unique indexes.
func (m *Model) Lookups() []*Index {
	return append([]*Index{m.PKIndex}, m.Uniques...)
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

// Flat reports whether every column of m holds a value that shares no
// memory a caller could write through: numbers, bools, strings, times, and
// arrays and structs of them. A near cache may then keep one decoded row and
// hand out shallow copies of it; a row with a slice, a map or a pointer
// column is decoded for each reader instead. Fields that are not columns
// (db:"-") are zero in cached rows, so a shallow copy shares nothing
// through them either.
func (m *Model) Flat() bool {
	for _, f := range m.Fields {
		if !flatType(f.Type, 0) {
			return false
		}
	}
	return true
}

func flatType(t types.Type, depth int) bool {
	if depth > 8 {
		return false // deeply nested: not worth proving
	}
	switch t := types.Unalias(t).(type) {
	case *types.Basic:
		return t.Kind() != types.UnsafePointer
	case *types.Named:
		if obj := t.Obj(); obj.Pkg() != nil && obj.Pkg().Path() == "time" && obj.Name() == "Time" {
			return true // its *Location is shared, never written through
		}
		return flatType(t.Underlying(), depth+1)
	case *types.Array:
		return flatType(t.Elem(), depth+1)
	case *types.Struct:
		for i := 0; i < t.NumFields(); i++ {
			if !flatType(t.Field(i).Type(), depth+1) {
				return false
			}
		}
		return true
	}
	return false // pointers, slices, maps, interfaces, channels, functions
}
