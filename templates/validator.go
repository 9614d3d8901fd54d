package templates

import (
	"github.com/dave/jennifer/jen"
)

// validator emits Validator: a row's part of an ETag, for runtime/httpcache.
func (e *emitter) validator(f *jen.File) {
	m := e.m
	f.Commentf("Validator returns the %s row's part of an ETag: its String is a hash of", m.Name)
	f.Comment("the row's cached copy, which changes whenever the row does, and it names the")
	f.Comment("row's key so that runtime/httpcache can read it again with the page's other")
	f.Comment("rows in one store round trip. Pass what a getter returned, row and error:")
	f.Commentf("Validator(r.%s(ctx, %s)). It sends no query of its own, and the getter", m.PKIndex.Method, m.PK.Param)
	f.Comment("answers from the cache when it holds the row. Not found gives a Validator")
	f.Comment("whose String is runtime.NoRow; any other error is returned. Render the page")
	f.Comment("from that same row, so that it never shows a version other than the one its")
	f.Comment("ETag names.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id("Validator").Params(
		jen.Id("row").Op("*").Id(m.Name), jen.Err().Error(),
	).Params(jen.Qual(runtimePkg, "Validator"), jen.Error()).Block(
		jen.Return(jen.Id("r").Dot("t").Dot("ValidatorOf").Call(jen.Id("row"), jen.Err())),
	)
	f.Line()
}
