package templates

import (
	"go/types"

	"github.com/cachegen/cachegen/gen"
	"github.com/dave/jennifer/jen"
)

// codec emits the model's mapper: scanning, bind values, key values and the
// binary codec, all without reflection.
func (e *emitter) codec(f *jen.File) {
	m, p := e.m, e.recv
	recvT := jen.Id(p).Op("*").Id(m.Name)
	method := func(name string) *jen.Statement { return f.Func().Params(jen.Id(e.mapper)).Id(name) }

	f.Commentf("%s is the generated glue between %s and the runtime: it scans rows,", e.mapper, m.Name)
	f.Comment("lists bind values, writes cache keys and encodes cached copies. Related")
	f.Comment("fields (db:\"-\") appear in none of them.")
	f.Type().Id(e.mapper).Struct()
	f.Line()

	var dests, vals []jen.Code
	for _, fl := range m.Fields {
		dests = append(dests, e.scanDest(fl))
		vals = append(vals, e.bindValue(fl))
	}
	f.Comment("Scan reads one row whose columns are in spec order.")
	method("Scan").Params(jen.Id("s").Qual(enginePkg, "Scanner"), recvT.Clone()).Error().Block(
		jen.Return(jen.Id("s").Dot("Scan").Call(dests...)),
	)
	f.Line()
	f.Comment("Values returns the column values in spec order.")
	method("Values").Params(recvT.Clone()).Index().Any().Block(
		jen.Return(jen.Index().Any().Values(vals...)),
	)
	f.Line()

	var cases []jen.Code
	for _, ix := range m.Lookups() {
		cases = append(cases, jen.Case(jen.Id(ix.Const)).Block(e.keyStmts(ix.Fields)...))
	}
	f.Comment("AppendKey appends the key values of index i: 0 is the primary key, then the")
	f.Comment("unique lookups in spec order.")
	method("AppendKey").Params(jen.Id("b").Index().Byte(), jen.Id("i").Int(), recvT.Clone()).Index().Byte().Block(
		jen.Switch(jen.Id("i")).Block(cases...),
		jen.Return(jen.Id("b")),
	)
	f.Line()

	f.Comment("PKIsZero reports whether the primary key is unset.")
	method("PKIsZero").Params(recvT.Clone()).Bool().Block(jen.Return(e.isZero(m.PK)))
	f.Line()
	if m.AutoPK {
		f.Comment("SetPK stores the key the database generated.")
		method("SetPK").Params(recvT.Clone(), jen.Id("id").Int64()).Block(
			jen.Add(e.field(m.PK)).Op("=").Add(convert(m.PK.Codec, e, types.Typ[types.Int64], jen.Id("id"))),
		)
	} else {
		f.Comment("SetPK does nothing: the application assigns the primary key.")
		method("SetPK").Params(jen.Op("*").Id(m.Name), jen.Int64()).Block()
	}
	f.Line()

	var enc []jen.Code
	marshals := false
	for _, fl := range m.Fields {
		enc = append(enc, e.encode(fl.Codec, value{code: e.field(fl)})...)
		marshals = marshals || usesMarshaler(fl.Codec)
	}
	body := []jen.Code{}
	if marshals {
		body = append(body, jen.Var().Err().Error())
	}
	body = append(body, enc...)
	body = append(body, jen.Return(jen.Id("b"), jen.Nil()))
	f.Comment("Encode appends the cached form of the row's columns to b.")
	method("Encode").Params(jen.Id("b").Index().Byte(), recvT.Clone()).Params(jen.Index().Byte(), jen.Error()).Block(body...)
	f.Line()

	dec := []jen.Code{jen.Id("d").Op(":=").Qual(wirePkg, "NewSharedDecoder").Call(jen.Id("b"))}
	for _, fl := range m.Fields {
		dec = append(dec, e.decode(fl.Codec, value{code: e.field(fl)})...)
	}
	dec = append(dec, jen.Return(jen.Id("d").Dot("Finish").Call()))
	f.Comment("Decode reads what Encode wrote; other bytes are an error, never a panic.")
	f.Comment("Strings in the row share b's memory, which the runtime never changes.")
	method("Decode").Params(jen.Id("b").Index().Byte(), recvT.Clone()).Error().Block(dec...)
	f.Line()
}

// value is an expression of a codec's type: a field (u.Email) or the
// target of a pointer field (*u.Nick, with ptr = u.Nick).
type value struct {
	code *jen.Statement
	ptr  *jen.Statement
}

func (v value) expr() *jen.Statement {
	if v.ptr != nil {
		return jen.Op("*").Add(v.ptr.Clone())
	}
	return v.code.Clone()
}

// addr is &v, or the pointer itself.
func (v value) addr() *jen.Statement {
	if v.ptr != nil {
		return v.ptr.Clone()
	}
	return jen.Op("&").Add(v.code.Clone())
}

// slice is v[:] for an array.
func (v value) slice() *jen.Statement {
	if v.ptr != nil {
		return jen.Parens(v.expr()).Index(jen.Empty(), jen.Empty())
	}
	return v.code.Clone().Index(jen.Empty(), jen.Empty())
}

func (v value) dot(name string) value { return value{code: v.expr().Dot(name)} }

func (v value) deref() value { return value{ptr: v.expr()} }

// convert writes x (of type from) as a value of c's type: T(x), or x when
// the types are the same.
func convert(c *gen.Codec, e *emitter, from types.Type, x jen.Code) jen.Code {
	if types.Identical(c.Type, from) {
		return x
	}
	return jen.Add(e.typeCode(c.Type)).Call(x)
}

// widen writes v as the wire type to: int64(v), or v when it already is one.
func widen(c *gen.Codec, to types.Type, name string, v jen.Code) jen.Code {
	if types.Identical(c.Type, to) {
		return v
	}
	return jen.Id(name).Call(v)
}

var (
	tInt64   = types.Typ[types.Int64]
	tUint64  = types.Typ[types.Uint64]
	tFloat32 = types.Typ[types.Float32]
	tFloat64 = types.Typ[types.Float64]
	tBool    = types.Typ[types.Bool]
	tString  = types.Typ[types.String]
	tBytes   = types.NewSlice(types.Typ[types.Byte])
)

func appendCall(fn string, args ...jen.Code) jen.Code {
	return jen.Id("b").Op("=").Qual(wirePkg, fn).Call(append([]jen.Code{jen.Id("b")}, args...)...)
}

func (e *emitter) encode(c *gen.Codec, v value) []jen.Code {
	switch c.Kind {
	case gen.CodecInt:
		return []jen.Code{appendCall("AppendInt", widen(c, tInt64, "int64", v.expr()))}
	case gen.CodecUint:
		return []jen.Code{appendCall("AppendUint", widen(c, tUint64, "uint64", v.expr()))}
	case gen.CodecFloat32:
		return []jen.Code{appendCall("AppendFloat32", widen(c, tFloat32, "float32", v.expr()))}
	case gen.CodecFloat64:
		return []jen.Code{appendCall("AppendFloat64", widen(c, tFloat64, "float64", v.expr()))}
	case gen.CodecBool:
		return []jen.Code{appendCall("AppendBool", widen(c, tBool, "bool", v.expr()))}
	case gen.CodecString:
		return []jen.Code{appendCall("AppendString", widen(c, tString, "string", v.expr()))}
	case gen.CodecBytes:
		if types.Identical(c.Type, tBytes) {
			return []jen.Code{appendCall("AppendBytes", v.expr())}
		}
		return []jen.Code{appendCall("AppendBytes", jen.Index().Byte().Call(v.expr()))}
	case gen.CodecTime:
		return []jen.Code{appendCall("AppendTime", v.expr())}
	case gen.CodecByteArray:
		return []jen.Code{appendCall("AppendRaw", v.slice())}
	case gen.CodecMarshaler:
		return []jen.Code{
			jen.If(
				jen.List(jen.Id("b"), jen.Err()).Op("=").Qual(wirePkg, "AppendMarshaler").Call(jen.Id("b"), e.marshalerArg(c, v)),
				jen.Err().Op("!=").Nil(),
			).Block(jen.Return(jen.Nil(), jen.Err())),
		}
	case gen.CodecNull:
		valid := v.dot("Valid")
		return []jen.Code{
			appendCall("AppendBool", valid.expr()),
			jen.If(valid.expr()).Block(e.encode(c.Elem, v.dot(c.NullField))...),
		}
	case gen.CodecPointer:
		return []jen.Code{
			appendCall("AppendBool", v.expr().Op("!=").Nil()),
			jen.If(v.expr().Op("!=").Nil()).Block(e.encode(c.Elem, v.deref())...),
		}
	}
	return nil
}

// marshalerArg passes v to MarshalBinary's interface: v itself when the
// value has the method, its address when only the pointer does.
func (e *emitter) marshalerArg(c *gen.Codec, v value) jen.Code {
	if types.NewMethodSet(c.Type).Lookup(nil, "MarshalBinary") != nil {
		return v.expr()
	}
	return v.addr()
}

func (e *emitter) decode(c *gen.Codec, v value) []jen.Code {
	d := func(fn string) *jen.Statement { return jen.Id("d").Dot(fn).Call() }
	assign := func(from types.Type, x jen.Code) []jen.Code {
		return []jen.Code{v.expr().Op("=").Add(convert(c, e, from, x))}
	}
	switch c.Kind {
	case gen.CodecInt:
		return assign(tInt64, d("Int"))
	case gen.CodecUint:
		return assign(tUint64, d("Uint"))
	case gen.CodecFloat32:
		return assign(tFloat32, d("Float32"))
	case gen.CodecFloat64:
		return assign(tFloat64, d("Float64"))
	case gen.CodecBool:
		return assign(tBool, d("Bool"))
	case gen.CodecString:
		return assign(tString, d("String"))
	case gen.CodecBytes:
		return assign(tBytes, d("Bytes"))
	case gen.CodecTime:
		return []jen.Code{v.expr().Op("=").Add(d("Time"))}
	case gen.CodecByteArray:
		return []jen.Code{jen.Id("d").Dot("Raw").Call(v.slice())}
	case gen.CodecMarshaler:
		return []jen.Code{jen.Id("d").Dot("Unmarshal").Call(v.addr())}
	case gen.CodecNull:
		valid := v.dot("Valid")
		return []jen.Code{
			valid.expr().Op("=").Add(d("Bool")),
			jen.If(valid.expr()).Block(e.decode(c.Elem, v.dot(c.NullField))...),
		}
	case gen.CodecPointer:
		return []jen.Code{
			jen.If(d("Bool")).Block(append(
				[]jen.Code{v.expr().Op("=").New(e.typeCode(c.Elem.Type))},
				e.decode(c.Elem, v.deref())...)...),
		}
	}
	return nil
}

// keyStmts appends the key values of fields, separated by commas.
func (e *emitter) keyStmts(fields []*gen.Field) []jen.Code {
	var out []jen.Code
	for i, fl := range fields {
		if i > 0 {
			out = append(out, keyCall("AppendKeySep"))
		}
		out = append(out, e.key(fl.Codec, value{code: e.field(fl)})...)
	}
	return out
}

func keyCall(fn string, args ...jen.Code) jen.Code {
	return jen.Id("b").Op("=").Qual(enginePkg, fn).Call(append([]jen.Code{jen.Id("b")}, args...)...)
}

func (e *emitter) key(c *gen.Codec, v value) []jen.Code {
	switch c.Kind {
	case gen.CodecInt:
		return []jen.Code{keyCall("AppendKeyInt", widen(c, tInt64, "int64", v.expr()))}
	case gen.CodecUint:
		return []jen.Code{keyCall("AppendKeyUint", widen(c, tUint64, "uint64", v.expr()))}
	case gen.CodecFloat32, gen.CodecFloat64:
		return []jen.Code{keyCall("AppendKeyFloat", widen(c, tFloat64, "float64", v.expr()))}
	case gen.CodecBool:
		return []jen.Code{keyCall("AppendKeyBool", widen(c, tBool, "bool", v.expr()))}
	case gen.CodecString:
		return []jen.Code{keyCall("AppendKeyString", widen(c, tString, "string", v.expr()))}
	case gen.CodecBytes:
		if types.Identical(c.Type, tBytes) {
			return []jen.Code{keyCall("AppendKeyBytes", v.expr())}
		}
		return []jen.Code{keyCall("AppendKeyBytes", jen.Index().Byte().Call(v.expr()))}
	case gen.CodecTime:
		return []jen.Code{keyCall("AppendKeyTime", v.expr())}
	case gen.CodecByteArray:
		return []jen.Code{keyCall("AppendKeyBytes", v.slice())}
	case gen.CodecMarshaler:
		return []jen.Code{keyCall("AppendKeyMarshaler", e.marshalerArg(c, v))}
	case gen.CodecNull:
		return []jen.Code{jen.If(v.dot("Valid").expr()).Block(e.key(c.Elem, v.dot(c.NullField))...).Else().Block(keyCall("AppendKeyNull"))}
	case gen.CodecPointer:
		return []jen.Code{jen.If(v.expr().Op("!=").Nil()).Block(e.key(c.Elem, v.deref())...).Else().Block(keyCall("AppendKeyNull"))}
	}
	return nil
}

func usesMarshaler(c *gen.Codec) bool {
	for ; c != nil; c = c.Elem {
		if c.Kind == gen.CodecMarshaler {
			return true
		}
	}
	return false
}

// isZero tests the primary key against its zero value.
func (e *emitter) isZero(f *gen.Field) jen.Code {
	v := e.field(f)
	switch f.Codec.Kind {
	case gen.CodecInt, gen.CodecUint, gen.CodecFloat32, gen.CodecFloat64:
		return v.Op("==").Lit(0)
	case gen.CodecString:
		return v.Op("==").Lit("")
	case gen.CodecBool:
		return jen.Op("!").Add(v)
	case gen.CodecBytes:
		return jen.Len(v).Op("==").Lit(0)
	case gen.CodecTime:
		return v.Dot("IsZero").Call()
	case gen.CodecByteArray:
		return v.Op("==").Add(e.typeCode(f.Type)).Values()
	}
	return jen.False()
}

// scanDest is the Scan destination of a field: its address, or for a byte
// array without its own sql.Scanner, an adapter that fills it. A named
// bool without one is scanned as a *bool, a named
// []byte as a *[]byte: database/sql stores NULL
// (as nil) only into that, and fails on a named slice.
func (e *emitter) scanDest(f *gen.Field) jen.Code {
	if f.Codec.Kind == gen.CodecByteArray && !hasMethod(types.NewPointer(f.Type), "Scan") {
		return jen.Qual(enginePkg, "ScanBytes").Call(e.field(f).Index(jen.Empty(), jen.Empty()))
	}
	if f.Codec.Kind == gen.CodecBytes && !types.Identical(f.Type, tBytes) && !hasMethod(types.NewPointer(f.Type), "Scan") {
		return jen.Parens(jen.Op("*").Index().Byte()).Call(jen.Op("&").Add(e.field(f)))
	}
	// database/sql scans the 0 or 1 of SQLite and MariaDB into a *bool, but
	// not into a pointer to a defined bool.
	if f.Codec.Kind == gen.CodecBool && f.Codec.Named && !hasMethod(types.NewPointer(f.Type), "Scan") {
		return jen.Parens(jen.Op("*").Bool()).Call(jen.Op("&").Add(e.field(f)))
	}
	return jen.Op("&").Add(e.field(f))
}

// bindValue is the value bound for a field: itself, or for a byte array
// without its own driver.Valuer, a slice of it (drivers take []byte).
func (e *emitter) bindValue(f *gen.Field) jen.Code {
	if f.Codec.Kind == gen.CodecByteArray && !hasMethod(f.Type, "Value") {
		return e.field(f).Index(jen.Empty(), jen.Empty())
	}
	return e.field(f)
}

func hasMethod(t types.Type, name string) bool {
	return types.NewMethodSet(t).Lookup(nil, name) != nil
}
