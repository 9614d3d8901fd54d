package templates

import "github.com/dave/jennifer/jen"

// all emits All.
func (e *emitter) all(f *jen.File) {
	m := e.m
	f.Commentf("All returns every %s ordered by %s. The list is cached under one key that", m.Name, m.PK.Column)
	f.Commentf("every write to %s invalidates; a table over the row cap (runtime.WithAllCap)", m.Table)
	f.Comment("is read from the database each time.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id("All").Params(jen.Id("ctx").Qual("context", "Context")).
		Params(jen.Index().Op("*").Id(m.Name), jen.Error()).Block(
		jen.Return(jen.Id("r").Dot("t").Dot("All").Call(jen.Id("ctx"))),
	)
	f.Line()
}
