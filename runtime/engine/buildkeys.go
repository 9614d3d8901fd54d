package engine

import (
	"reflect"
	"strings"
	"time"
)

// A build announces each unique index by its columns and their key kinds:
// "org,handle=is". Another build may lock that index's keys on its writes
// (cover it) only when it maps every column with the same kind, so that
// the keys it builds from its own field values are the ones the declaring
// build reads.

// keyKind names how a column's values are written into keys, from its Go
// type family: integers (signed or not) as decimals, floats by width,
// bools, strings, bytes (slices and arrays), times. 'x' is a type whose key
// only its generated code knows (a Marshaler, a Scanner): no other build
// can cover an index on it.
func keyKind(t GoType) byte {
	switch t &^ GoNullable {
	case GoInt8, GoInt16, GoInt32, GoInt64, GoUint8, GoUint16, GoUint32, GoUint64:
		return 'i'
	case GoFloat32:
		return 'g'
	case GoFloat64:
		return 'f'
	case GoBool:
		return 'b'
	case GoString:
		return 's'
	case GoBytes, GoByteArray:
		return 'y'
	case GoTime:
		return 't'
	}
	return 'x'
}

// indexSig is the announced name of an index on cols, whose kinds are kinds.
func indexSig(cols []string, kinds []byte) string {
	return strings.Join(cols, ",") + "=" + string(kinds)
}

// parseSig splits an index's announced name into its columns and kinds.
func parseSig(sig string) (cols []string, kinds string, ok bool) {
	i := strings.LastIndexByte(sig, '=')
	if i <= 0 {
		return nil, "", false
	}
	cols = strings.Split(sig[:i], ",")
	kinds = sig[i+1:]
	return cols, kinds, len(cols) == len(kinds)
}

var timeType = reflect.TypeFor[time.Time]()

// appendKeyValue appends v, a field value as Mapper.Values returns it, the
// way generated code appends a field of its kind (see templates/codec.go):
// a nil pointer or an invalid sql.Null* is NULL. It reports false for a
// value it cannot write.
func appendKeyValue(b []byte, v any) ([]byte, bool) {
	return appendKeyReflect(b, reflect.ValueOf(v))
}

func appendKeyReflect(b []byte, v reflect.Value) ([]byte, bool) {
	if !v.IsValid() {
		return AppendKeyNull(b), true
	}
	if v.Type() == timeType {
		return AppendKeyTime(b, v.Interface().(time.Time)), true
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return AppendKeyNull(b), true
		}
		return appendKeyReflect(b, v.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return AppendKeyInt(b, v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return AppendKeyUint(b, v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return AppendKeyFloat(b, v.Float()), true
	case reflect.Bool:
		return AppendKeyBool(b, v.Bool()), true
	case reflect.String:
		return AppendKeyString(b, v.String()), true
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Uint8 {
			return b, false
		}
		if v.IsNil() {
			return AppendKeyNull(b), true
		}
		return appendKeyEscaped(b, v.Bytes()), true
	case reflect.Array:
		if v.Type().Elem().Kind() != reflect.Uint8 {
			return b, false
		}
		for i := range v.Len() {
			b = appendKeyEscaped(b, []byte{byte(v.Index(i).Uint())})
		}
		return b, true
	case reflect.Struct:
		// database/sql's Null types: Valid and one value field.
		valid := v.FieldByName("Valid")
		if v.NumField() != 2 || !valid.IsValid() || valid.Kind() != reflect.Bool {
			return b, false
		}
		if !valid.Bool() {
			return AppendKeyNull(b), true
		}
		for i := range 2 {
			if v.Type().Field(i).Name != "Valid" {
				return appendKeyReflect(b, v.Field(i))
			}
		}
	}
	return b, false
}
