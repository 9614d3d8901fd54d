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
}
