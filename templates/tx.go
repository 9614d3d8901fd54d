package templates

import "github.com/dave/jennifer/jen"

// tx emits WithTx and the invalidation methods for writes the repository
// did not make.
func (e *emitter) tx(f *jen.File) {
	m := e.m
	r := jen.Id("r").Op("*").Id(e.repoT)
	ctx := jen.Id("ctx").Qual("context", "Context")

	f.Commentf("WithTx returns the repository working inside tx: reads go to the database")
	f.Comment("through tx and see its uncommitted rows, never the cache; writes lock the")
	f.Comment("keys they change at once and release them when tx commits or rolls back.")
	f.Func().Params(r.Clone()).Id("WithTx").Params(jen.Id("tx").Op("*").Qual(runtimePkg, "Tx")).Op("*").Id(e.repoT).Block(
		jen.Return(jen.Op("&").Id(e.repoT).Values(jen.Id("t").Op(":").Id("r").Dot("t").Dot("WithTx").Call(jen.Id("tx")))),
	)
	f.Line()

	ids, probes := m.PK.Params, "probes"
	if ids == probes {
		probes = "lookups"
	}
	f.Commentf("InvalidateByPK drops the cached copies of the %s rows with the given %ss,", m.Table, m.PK.Column)
	f.Comment("under every key of the row as the database holds it now, and the All list. Call it")
	f.Comment("after changing rows with SQL this repository did not run (hand-written")
	f.Comment("statements, migrations, other services). A unique value the row no longer")
	f.Comment("holds can only be found from the row as it was: pass that to InvalidateRows.")
	f.Func().Params(r.Clone()).Id("InvalidateByPK").Params(ctx.Clone(), jen.Id(ids).Op("...").Add(e.typeCode(m.PK.Type))).Error().Block(
		jen.Id(probes).Op(":=").Make(jen.Index().Op("*").Id(m.Name), jen.Len(jen.Id(ids))),
		jen.For(jen.List(jen.Id("i"), jen.Id("v")).Op(":=").Range().Id(ids)).Block(
			jen.Id(probes).Index(jen.Id("i")).Op("=").Op("&").Id(m.Name).Values(jen.Id(m.PK.Name).Op(":").Id("v")),
		),
		jen.Return(jen.Id("r").Dot("t").Dot("InvalidateByPK").Call(jen.Id("ctx"), jen.Id(probes).Op("..."))),
	)
	f.Line()

	f.Comment("InvalidateRows drops the cached copies of rows under the primary key and every")
	f.Comment("unique key of the values they hold, and the All list: pass rows as they were")
	f.Comment("before a change made outside the repository, and as they are after it.")
	f.Func().Params(r.Clone()).Id("InvalidateRows").Params(ctx.Clone(), jen.Id("rows").Op("...").Op("*").Id(m.Name)).Error().Block(
		jen.Return(jen.Id("r").Dot("t").Dot("InvalidateRows").Call(jen.Id("ctx"), jen.Id("rows").Op("..."))),
	)
	f.Line()

	f.Commentf("InvalidateAll drops every cached %s of this repository's key prefix. It", m.Name)
	f.Comment("costs a step per cached key, so it is for migrations and bulk changes.")
	f.Func().Params(r.Clone()).Id("InvalidateAll").Params(ctx.Clone()).Error().Block(
		jen.Return(jen.Id("r").Dot("t").Dot("InvalidateAll").Call(jen.Id("ctx"))),
	)
	f.Line()
}
