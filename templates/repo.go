package templates

import (
	"go/types"
	"time"

	"github.com/cachegen/cachegen/gen"
	"github.com/cachegen/cachegen/internal/catalog"
	"github.com/dave/jennifer/jen"
)

// repo emits the model's Spec, its repository type, the constructor and
// Stats.
func (e *emitter) repo(f *jen.File) {
	m := e.m
	pos := map[*gen.Field]int{}
	var cols, goTypes []jen.Code
	for i, fl := range m.Fields {
		pos[fl] = i
		cols = append(cols, jen.Lit(fl.Column))
		goTypes = append(goTypes, goTypeCode(fl.GoType()))
	}
	index := func(name string, fields []*gen.Field) jen.Code {
		var idx, text []jen.Code
		for _, fl := range fields {
			idx = append(idx, jen.Lit(pos[fl]))
		}
		items := []jen.Code{kv("Name", jen.Lit(name)), kv("Columns", jen.Index().Int().Values(idx...))}
		policy, texts := missPolicy(fields)
		if policy != "CacheMisses" {
			items = append(items, kv("Misses", jen.Qual(runtimePkg, policy)))
		}
		if policy == "CacheMissesIfExact" {
			for _, fl := range texts {
				text = append(text, jen.Lit(pos[fl]))
			}
			items = append(items, kv("Text", jen.Index().Int().Values(text...)))
		}
		return jen.Values(items...)
	}
	indexes := []jen.Code{index(m.PK.Column, []*gen.Field{m.PK})}
	for _, ix := range m.Uniques {
		indexes = append(indexes, index(ix.Name, ix.Fields))
	}

	f.Commentf("%s describes %s to the cachegen runtime: its table, columns and lookups.", e.spec, m.Name)
	spec := []jen.Code{kv("Table", jen.Lit(m.Table)), kv("Schema", jen.Lit(m.Schema))}
	if m.TTL > 0 {
		spec = append(spec, kv("TTL", durationCode(m.TTL)))
	}
	spec = append(spec,
		kv("Columns", jen.Index().String().Values(cols...)),
		kv("Types", jen.Index().Qual(runtimePkg, "GoType").Values(goTypes...)),
		kv("Indexes", jen.Index().Qual(runtimePkg, "Index").Custom(multiline, indexes...)))
	if m.AutoPK {
		spec = append(spec, kv("AutoPK", jen.True()))
	}
	if m.Flat() {
		spec = append(spec, kv("Flat", jen.True()))
	}
	spec = append(spec, kv("Mapper", jen.Id(e.mapper).Values()))
	f.Var().Id(e.spec).Op("=").Qual(runtimePkg, "Spec").Types(jen.Id(m.Name)).Custom(multiline, spec...)
	f.Line()

	f.Commentf("%s reads %s rows (table %s) through a cache and invalidates", e.repoT, m.Name, m.Table)
	f.Comment("exactly the keys a write changes. Cached copies hold the row's own columns,")
	f.Comment("never related objects. It is safe for concurrent use.")
	f.Type().Id(e.repoT).Struct(jen.Id("t").Op("*").Qual(runtimePkg, "Table").Types(jen.Id(m.Name)))
	f.Line()

	ctor := "New" + e.repoT
	f.Commentf("%s returns the repository of %s rows on db, caching in store; a", ctor, m.Name)
	f.Comment("nil store sends every read to the database. It fails when the SQL dialect")
	f.Comment("of db is unknown (see runtime.WithDialect).")
	f.Func().Id(ctor).Params(
		jen.Id("db").Op("*").Qual(sqlxPkg, "DB"),
		jen.Id("store").Qual(runtimePkg, "Store"),
		jen.Id("opts").Op("...").Qual(runtimePkg, "Option"),
	).Params(jen.Op("*").Id(e.repoT), jen.Error()).Block(
		jen.List(jen.Id("t"), jen.Err()).Op(":=").Qual(runtimePkg, "NewTable").Call(jen.Id("db"), jen.Id("store"), jen.Op("&").Id(e.spec), jen.Id("opts").Op("...")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Op("&").Id(e.repoT).Values(jen.Dict{jen.Id("t"): jen.Id("t")}), jen.Nil()),
	)
	f.Line()

	f.Comment("Stats returns what the repository did since it was made: hits, misses,")
	f.Comment("fills, invalidations, store errors and database queries.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id("Stats").Params().Qual(runtimePkg, "Stats").Block(
		jen.Return(jen.Id("r").Dot("t").Dot("Stats").Call()),
	)
	f.Line()
}

// missPolicy names the runtime.MissPolicy of a lookup on fields, and the
// fields that hold text or bytes: a cached not-found is sound only where the
// database's equality is the key's. Integers and bools compare exactly;
// whether text and bytes do depends on the column's collation, which the
// runtime reads from the catalog; floats, times, custom types and any type
// with a driver.Valuer (which may bind another value than the key is built
// from) never do.
func missPolicy(fields []*gen.Field) (string, []*gen.Field) {
	var texts []*gen.Field
	for _, f := range fields {
		c := f.Codec
		if hasValuer(c.Type) {
			return "NeverCacheMisses", nil
		}
		for c.Kind == gen.CodecPointer || c.Kind == gen.CodecNull {
			c = c.Elem
			if hasValuer(c.Type) {
				return "NeverCacheMisses", nil
			}
		}
		switch c.Kind {
		case gen.CodecInt, gen.CodecUint, gen.CodecBool:
		case gen.CodecString, gen.CodecBytes, gen.CodecByteArray:
			texts = append(texts, f)
		default:
			return "NeverCacheMisses", nil
		}
	}
	if len(texts) > 0 {
		return "CacheMissesIfExact", texts
	}
	return "CacheMisses", nil
}

// hasValuer reports whether t or *t has a Value method, other than the
// database/sql Null types' own (which bind their value unchanged).
func hasValuer(t types.Type) bool {
	if n, ok := types.Unalias(t).(*types.Named); ok {
		if obj := n.Origin().Obj(); obj.Pkg() != nil && obj.Pkg().Path() == "database/sql" {
			return false
		}
	}
	if _, ok := types.Unalias(t).(*types.Pointer); ok {
		return hasMethod(t, "Value")
	}
	return hasMethod(t, "Value") || hasMethod(types.NewPointer(t), "Value")
}

// goTypeNames are the runtime's names of the catalog's kinds, in their
// order.
var goTypeNames = [...]string{"GoOther", "GoInt8", "GoInt16", "GoInt32", "GoInt64", "GoUint8", "GoUint16",
	"GoUint32", "GoUint64", "GoFloat32", "GoFloat64", "GoBool", "GoString", "GoBytes", "GoByteArray", "GoTime"}

// goTypeCode writes a field's runtime.GoType: runtime.GoString, or
// runtime.GoTime | runtime.GoNullable.
func goTypeCode(t catalog.GoType) jen.Code {
	c := jen.Qual(runtimePkg, goTypeNames[t.Kind])
	if t.Nullable {
		c = c.Op("|").Qual(runtimePkg, "GoNullable")
	}
	return c
}

// durationCode writes d as a readable constant expression: 10 * time.Minute.
func durationCode(d time.Duration) jen.Code {
	units := []struct {
		d    time.Duration
		name string
	}{{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"}, {time.Millisecond, "Millisecond"}, {time.Microsecond, "Microsecond"}}
	for _, u := range units {
		if d%u.d == 0 {
			if d == u.d {
				return jen.Qual("time", u.name)
			}
			return jen.Lit(int(d/u.d)).Op("*").Qual("time", u.name)
		}
	}
	return jen.Qual("time", "Duration").Call(jen.Lit(int64(d)))
}

// multiline renders a composite literal with one element per line, in the
// order given (jen.Dict would sort them).
var multiline = jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}

// kv is one Key: value element of a composite literal.
func kv(key string, v jen.Code) jen.Code { return jen.Id(key).Op(":").Add(v) }
