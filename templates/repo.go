package templates

import (
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
	var indexes []jen.Code
	for _, ix := range m.Lookups() {
		var idx, text []jen.Code
		for _, fl := range ix.Fields {
			idx = append(idx, jen.Lit(pos[fl]))
		}
		items := []jen.Code{kv("Name", jen.Lit(ix.Name)), kv("Columns", jen.Index().Int().Values(idx...))}
		if ix.Misses != gen.CacheMisses {
			items = append(items, kv("Misses", jen.Qual(enginePkg, ix.Misses.String())))
		}
		if ix.Misses == gen.CacheMissesIfExact {
			for _, fl := range ix.Text {
				text = append(text, jen.Lit(pos[fl]))
			}
			items = append(items, kv("Text", jen.Index().Int().Values(text...)))
		}
		indexes = append(indexes, jen.Values(items...))
	}

	f.Commentf("%s describes %s to the cachegen runtime: its table, columns and lookups.", e.spec, m.Name)
	spec := []jen.Code{kv("Table", jen.Lit(m.Table)), kv("SchemaHash", jen.Lit(m.Schema))}
	if m.TTL > 0 {
		spec = append(spec, kv("TTL", durationCode(m.TTL)))
	}
	spec = append(spec,
		kv("Columns", jen.Index().String().Values(cols...)),
		kv("Types", jen.Index().Qual(enginePkg, "GoType").Values(goTypes...)),
		kv("Indexes", jen.Index().Qual(enginePkg, "Index").Custom(multiline, indexes...)))
	if m.AutoPK {
		spec = append(spec, kv("AutoPK", jen.True()))
	}
	if m.Flat() {
		spec = append(spec, kv("Flat", jen.True()))
	}
	spec = append(spec, kv("Mapper", jen.Id(e.mapper).Values()))
	f.Var().Id(e.spec).Op("=").Qual(enginePkg, "Spec").Types(jen.Id(m.Name)).Custom(multiline, spec...)
	f.Line()

	f.Commentf("The lookups of %s, numbered as in its Indexes.", e.spec)
	var ordinals []jen.Code
	for _, ix := range m.Lookups() {
		ordinals = append(ordinals, jen.Id(ix.Const).Op("=").Lit(ix.Ordinal).Comment(ix.Method))
	}
	f.Const().Defs(ordinals...)
	f.Line()

	f.Commentf("%s reads %s rows (table %s) through a cache and invalidates", e.repoT, m.Name, m.Table)
	f.Comment("exactly the keys a write changes. Cached copies hold the row's own columns,")
	f.Comment("never related objects. It is safe for concurrent use.")
	f.Type().Id(e.repoT).Struct(jen.Id("t").Op("*").Qual(enginePkg, "Table").Types(jen.Id(m.Name)))
	f.Line()

	ctor := m.New
	f.Commentf("%s returns the repository of %s rows on db, caching in store; a", ctor, m.Name)
	f.Comment("nil store sends every read to the database. It fails when an option is out")
	f.Comment("of range or the SQL dialect of db is unknown (see runtime.WithDialect).")
	f.Func().Id(ctor).Params(
		jen.Id("db").Op("*").Qual(sqlxPkg, "DB"),
		jen.Id("store").Qual(runtimePkg, "Store"),
		jen.Id("opts").Op("...").Qual(runtimePkg, "Option"),
	).Params(jen.Op("*").Id(e.repoT), jen.Error()).Block(
		jen.List(jen.Id("t"), jen.Err()).Op(":=").Qual(enginePkg, "NewTable").Call(jen.Id("db"), jen.Id("store"), jen.Op("&").Id(e.spec), jen.Id("opts").Op("...")),
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

// goTypeNames are the runtime's names of the catalog's kinds, in their
// order.
var goTypeNames = [...]string{"GoOther", "GoInt8", "GoInt16", "GoInt32", "GoInt64", "GoUint8", "GoUint16",
	"GoUint32", "GoUint64", "GoFloat32", "GoFloat64", "GoBool", "GoString", "GoBytes", "GoByteArray", "GoTime"}

// goTypeCode writes a field's engine.GoType: engine.GoString, or
// engine.GoTime | engine.GoNullable.
func goTypeCode(t catalog.GoType) jen.Code {
	c := jen.Qual(enginePkg, goTypeNames[t.Kind])
	if t.Nullable {
		c = c.Op("|").Qual(enginePkg, "GoNullable")
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
