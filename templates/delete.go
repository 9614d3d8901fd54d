package templates

import (
	"github.com/cachegen/cachegen/gen"
	"github.com/dave/jennifer/jen"
)

// delete emits Delete.
func (e *emitter) delete(f *jen.File) {
	m := e.m
	fields := []*gen.Field{m.PK}
	f.Commentf("Delete deletes the %s whose %s is %s and invalidates its cached copies", m.Name, m.PK.Column, m.PK.Param)
	f.Comment("under every key and the All list. When there is no such row the error")
	f.Comment("satisfies errors.Is with runtime.ErrNotFound and sql.ErrNoRows.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id("Delete").Params(e.indexParams(fields)...).Error().Block(
		jen.Return(jen.Id("r").Dot("t").Dot("Delete").Call(jen.Id("ctx"), e.probe(fields))),
	)
	f.Line()
	e.deleteMany(f)
}

// deleteMany emits DeleteMany.
func (e *emitter) deleteMany(f *jen.File) {
	m, pk := e.m, e.m.PK
	param := pk.Params // ids
	probes := "probes"
	if param == probes {
		probes = "lookups"
	}
	f.Commentf("DeleteMany deletes the %ss whose %s is one of %s, in one transaction, and", m.Name, pk.Column, param)
	f.Comment("invalidates their cached copies under every key and the All list, locked in")
	f.Comment("one store round trip and released in one. It returns how many rows it")
	f.Comment("deleted; a key with no row is skipped.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id("DeleteMany").Params(
		jen.Id("ctx").Qual("context", "Context"),
		jen.Id(param).Index().Add(e.typeCode(pk.Type)),
	).Params(jen.Int(), jen.Error()).Block(
		jen.Id(probes).Op(":=").Make(jen.Index().Op("*").Id(m.Name), jen.Len(jen.Id(param))),
		jen.For(jen.Id("i").Op(":=").Range().Id(param)).Block(
			jen.Id(probes).Index(jen.Id("i")).Op("=").Op("&").Id(m.Name).Values(kv(pk.Name, jen.Id(param).Index(jen.Id("i")))),
		),
		jen.Return(jen.Id("r").Dot("t").Dot("DeleteMany").Call(jen.Id("ctx"), jen.Id(probes))),
	)
	f.Line()
}
