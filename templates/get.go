package templates

import (
	"github.com/cachegen/cachegen/gen"
	"github.com/dave/jennifer/jen"
)

// get emits GetBy<Pk> and one GetBy<Fields> per unique index.
func (e *emitter) get(f *jen.File) {
	for _, ix := range e.m.Lookups() {
		e.getter(f, ix)
	}
}

func (e *emitter) getter(f *jen.File, ix *gen.Index) {
	m, method, fields, index := e.m, ix.Method, ix.Fields, jen.Id(ix.Const)
	f.Commentf("%s returns the %s with the given %s.", method, m.Name, columnList(fields))
	f.Comment("The cache answers when it holds the row; otherwise the database does and")
	f.Comment("the cache is filled. When no row matches, the error satisfies errors.Is")
	f.Comment("with runtime.ErrNotFound and sql.ErrNoRows.")
	// The probe and the key stay on the stack: a near-cache hit allocates
	// only the row it returns.
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id(method).Params(e.indexParams(fields)...).
		Params(jen.Op("*").Id(m.Name), jen.Error()).Block(
		jen.Id("probe").Op(":=").Add(e.probeValue(fields)),
		jen.Var().Id("key").Index(jen.Qual(enginePkg, "KeyBufferSize")).Byte(),
		jen.Return(jen.Id("r").Dot("t").Dot("GetKey").Call(jen.Id("ctx"), index.Clone(),
			jen.Id(e.mapper).Values().Dot("AppendKey").Call(
				jen.Id("r").Dot("t").Dot("KeyPrefix").Call(jen.Id("key").Index(jen.Op(":").Lit(0)), index.Clone()),
				index.Clone(), jen.Op("&").Id("probe")),
			jen.Id("probe"))),
	)
	f.Line()
}
