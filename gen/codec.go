package gen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/token"
	"go/types"
	"strings"
)

// supportedTypesHint lists what the codec carries; it is the hint of every
// "cannot be cached" error.
const supportedTypesHint = "supported types: integers, float32, float64, bool, string, []byte, [N]byte, time.Time, " +
	"database/sql Null types (sql.NullString, ..., sql.Null[T]), pointers to these (not to [N]byte), defined types over " +
	"integers, floats, bool, string, []byte or [N]byte, and types T where T or *T implements " +
	"encoding.BinaryMarshaler and *T encoding.BinaryUnmarshaler (the cache's form), T driver.Valuer and *T sql.Scanner " +
	"(the database's); use db:\"-\" for a related object"

// sqlNullFields maps the database/sql Null types to the name of their value field.
var sqlNullFields = map[string]string{
	"NullString":  "String",
	"NullInt64":   "Int64",
	"NullInt32":   "Int32",
	"NullInt16":   "Int16",
	"NullByte":    "Byte",
	"NullFloat64": "Float64",
	"NullBool":    "Bool",
	"NullTime":    "Time",
	"Null":        "V", // generic sql.Null[T]
}

// The encoding interfaces, built by hand: the user's package need not
// import "encoding".
var binaryMarshaler, binaryUnmarshaler = func() (*types.Interface, *types.Interface) {
	byteSlice := types.NewSlice(types.Typ[types.Byte])
	errType := types.Universe.Lookup("error").Type()
	marshal := types.NewFunc(token.NoPos, nil, "MarshalBinary", types.NewSignatureType(nil, nil, nil,
		nil,
		types.NewTuple(types.NewParam(token.NoPos, nil, "data", byteSlice), types.NewParam(token.NoPos, nil, "err", errType)),
		false))
	unmarshal := types.NewFunc(token.NoPos, nil, "UnmarshalBinary", types.NewSignatureType(nil, nil, nil,
		types.NewTuple(types.NewParam(token.NoPos, nil, "data", byteSlice)),
		types.NewTuple(types.NewParam(token.NoPos, nil, "", errType)),
		false))
	m := types.NewInterfaceType([]*types.Func{marshal}, nil)
	m.Complete()
	u := types.NewInterfaceType([]*types.Func{unmarshal}, nil)
	u.Complete()
	return m, u
}()

// namedIn reports whether t is the defined type pkgPath.name (or an
// instance of it, for a generic type).
func namedIn(t types.Type, pkgPath, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := n.Origin().Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == pkgPath && obj.Name() == name
}

// sqlNull returns the value field of a database/sql Null type, or "".
func sqlNull(t types.Type) string {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return ""
	}
	obj := n.Origin().Obj()
	if obj.Pkg() == nil || obj.Pkg().Path() != "database/sql" {
		return ""
	}
	return sqlNullFields[obj.Name()]
}

// codecFor works out how a value of type t is carried in the cache. The
// error, if any, says why t cannot be (without naming the field).
func codecFor(t types.Type) (*Codec, error) {
	u := types.Unalias(t)

	if p, ok := u.(*types.Pointer); ok {
		elem := types.Unalias(p.Elem())
		if _, ok := elem.(*types.Pointer); ok {
			return nil, fmt.Errorf("pointer to pointer")
		}
		if sqlNull(elem) != "" {
			return nil, fmt.Errorf("pointer to a Null type (a Null type already carries NULL)")
		}
		ec, err := codecFor(p.Elem())
		if err != nil {
			return nil, err
		}
		if !hasScanMethod(p) {
			switch {
			case ec.Kind == CodecByteArray:
				return nil, fmt.Errorf("database/sql cannot scan into a pointer to a byte array; use []byte (nil for NULL), or sql.Null[[]byte]")
			case ec.Kind == CodecBool && ec.Named:
				return nil, fmt.Errorf("database/sql cannot scan the 0 or 1 of SQLite and MariaDB into a pointer to a defined bool; use *bool, or give *%s a Scan method", types.TypeString(p.Elem(), nil))
			}
		}
		return &Codec{Kind: CodecPointer, Type: t, Elem: ec}, nil
	}

	if namedIn(u, "time", "Time") {
		return &Codec{Kind: CodecTime, Type: t}, nil
	}

	if nf := sqlNull(u); nf != "" {
		n := u.(*types.Named)
		var vt types.Type
		if nf == "V" {
			if n.TypeArgs().Len() != 1 {
				return nil, fmt.Errorf("uninstantiated sql.Null")
			}
			vt = n.TypeArgs().At(0)
			inner := types.Unalias(vt)
			if _, ok := inner.(*types.Pointer); ok {
				return nil, fmt.Errorf("sql.Null of a pointer")
			}
			if sqlNull(inner) != "" {
				return nil, fmt.Errorf("sql.Null of a Null type")
			}
		} else {
			st, ok := n.Underlying().(*types.Struct)
			if !ok {
				return nil, fmt.Errorf("unexpected sql.%s", n.Obj().Name())
			}
			for i := 0; i < st.NumFields(); i++ {
				if st.Field(i).Name() == nf {
					vt = st.Field(i).Type()
				}
			}
			if vt == nil {
				return nil, fmt.Errorf("sql.%s has no field %s", n.Obj().Name(), nf)
			}
		}
		ec, err := codecFor(vt)
		if err != nil {
			return nil, fmt.Errorf("value type %s: %v", types.TypeString(vt, nil), err)
		}
		if nf == "V" && !hasScanMethod(types.NewPointer(vt)) {
			switch {
			case ec.Kind == CodecByteArray:
				return nil, fmt.Errorf("database/sql cannot scan into a byte array inside sql.Null; use sql.Null[[]byte]")
			case ec.Kind == CodecBool && ec.Named:
				return nil, fmt.Errorf("database/sql cannot scan the 0 or 1 of SQLite and MariaDB into a defined bool inside sql.Null; use sql.NullBool or sql.Null[bool]")
			}
		}
		return &Codec{Kind: CodecNull, Type: t, Elem: ec, NullField: nf}, nil
	}

	_, named := u.(*types.Named)
	if _, isTP := u.(*types.TypeParam); isTP {
		return nil, fmt.Errorf("type parameter")
	}

	// Basic kinds, []byte and [N]byte, possibly under a defined type (which
	// wins over any marshaler the defined type has).
	switch under := u.Underlying().(type) {
	case *types.Basic:
		kind, err := basicKind(under)
		if err != nil {
			return nil, err
		}
		return &Codec{Kind: kind, Type: t, Named: named}, nil
	case *types.Slice:
		if isByte(under.Elem()) {
			return &Codec{Kind: CodecBytes, Type: t, Named: named}, nil
		}
	case *types.Array:
		if isByte(under.Elem()) {
			return &Codec{Kind: CodecByteArray, Type: t, Named: named, Len: under.Len()}, nil
		}
	case *types.Pointer:
		if named {
			if isMarshaler(u) {
				return &Codec{Kind: CodecMarshaler, Type: t}, nil
			}
			return nil, fmt.Errorf("defined pointer type; use *T instead")
		}
	}

	if isMarshaler(u) {
		if err := boundAndScanned(t); err != nil {
			return nil, err
		}
		return &Codec{Kind: CodecMarshaler, Type: t}, nil
	}
	return nil, fmt.Errorf("%s", unsupportedReason(u))
}

// boundAndScanned says why database/sql cannot carry a marshaler type t to
// and from the database, or returns nil: it binds t itself, so t needs a
// Value method (driver.Valuer), and scans into *t, which needs a Scan
// method (sql.Scanner). MarshalBinary is only the cache's form.
func boundAndScanned(t types.Type) error {
	name := types.TypeString(t, func(p *types.Package) string { return p.Name() })
	var missing []string
	if !hasValueMethod(t) {
		missing = append(missing, "a Value method on "+name+" (driver.Valuer)")
	}
	if !hasScanMethod(types.NewPointer(t)) {
		missing = append(missing, "a Scan method on *"+name+" (sql.Scanner)")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("MarshalBinary is the cache's form only: database/sql needs %s to write and read the column", strings.Join(missing, " and "))
}

func hasScanMethod(t types.Type) bool {
	return types.NewMethodSet(t).Lookup(nil, "Scan") != nil
}

// isByte reports whether t is byte (uint8) itself, not a defined type over it.
func isByte(t types.Type) bool {
	b, ok := types.Unalias(t).(*types.Basic)
	return ok && b.Kind() == types.Uint8
}

// isMarshaler reports whether T or *T implements encoding.BinaryMarshaler
// and *T implements encoding.BinaryUnmarshaler.
func isMarshaler(t types.Type) bool {
	if _, ok := t.Underlying().(*types.Interface); ok {
		return false // *I has no methods; an interface cannot be decoded into
	}
	pt := types.NewPointer(t)
	return (types.Implements(t, binaryMarshaler) || types.Implements(pt, binaryMarshaler)) &&
		types.Implements(pt, binaryUnmarshaler)
}

func basicKind(b *types.Basic) (CodecKind, error) {
	switch b.Kind() {
	case types.Int, types.Int8, types.Int16, types.Int32, types.Int64:
		return CodecInt, nil
	case types.Uint, types.Uint8, types.Uint16, types.Uint32, types.Uint64:
		return CodecUint, nil
	case types.Uintptr:
		return 0, fmt.Errorf("uintptr is not a data type")
	case types.Float32:
		return CodecFloat32, nil
	case types.Float64:
		return CodecFloat64, nil
	case types.Bool:
		return CodecBool, nil
	case types.String:
		return CodecString, nil
	case types.Complex64, types.Complex128:
		return 0, fmt.Errorf("complex numbers are not supported")
	case types.UnsafePointer:
		return 0, fmt.Errorf("unsafe.Pointer is not a data type")
	}
	return 0, fmt.Errorf("unsupported basic type %s", b.Name())
}

func unsupportedReason(t types.Type) string {
	switch u := t.Underlying().(type) {
	case *types.Map:
		return "maps are not supported"
	case *types.Slice:
		return "slices other than []byte are not supported"
	case *types.Array:
		return "arrays other than [N]byte are not supported"
	case *types.Chan:
		return "channels are not data"
	case *types.Signature:
		return "functions are not data"
	case *types.Interface:
		return "interfaces are not supported (the concrete type is unknown)"
	case *types.Struct:
		if _, ok := t.(*types.Named); ok {
			return "a struct needs MarshalBinary and UnmarshalBinary methods"
		}
		return "anonymous structs are not supported"
	default:
		_ = u
		return "unsupported type"
	}
}

// codecKindNames name the kinds in the schema hash, so that renumbering the
// constants never changes a schema.
var codecKindNames = map[CodecKind]string{
	CodecInt:       "int",
	CodecUint:      "uint",
	CodecFloat32:   "float32",
	CodecFloat64:   "float64",
	CodecBool:      "bool",
	CodecString:    "string",
	CodecBytes:     "bytes",
	CodecTime:      "time",
	CodecByteArray: "bytearray",
	CodecMarshaler: "marshaler",
	CodecNull:      "null",
	CodecPointer:   "pointer",
}

// String returns the kind's name, e.g. "int" or "pointer".
func (k CodecKind) String() string {
	if s, ok := codecKindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("CodecKind(%d)", int(k))
}

// describe writes a canonical description of c for the schema hash.
func (c *Codec) describe(b *strings.Builder) {
	if c == nil {
		b.WriteString("?")
		return
	}
	fmt.Fprintf(b, "%s{type=%s named=%t len=%d null=%s", c.Kind, types.TypeString(c.Type, nil), c.Named, c.Len, c.NullField)
	if c.Kind == CodecTime {
		// the wire form keeps named zones (wire format of times, v2): a
		// deploy never reads the fixed offsets older builds wrote
		b.WriteString(" zones=v2")
	}
	if c.Elem != nil {
		b.WriteString(" elem=")
		c.Elem.describe(b)
	}
	b.WriteString("}")
}

// schemaHash is the first 8 hex digits of a sha256 over the table, and
// each field's column and codec, in declaration order.
func schemaHash(table string, fields []*Field) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cachegen schema v1\ntable %q\n", table)
	for _, f := range fields {
		fmt.Fprintf(&b, "column %q ", f.Column)
		f.Codec.describe(&b)
		b.WriteString("\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])[:8]
}
