package templates

import (
	"github.com/dave/jennifer/jen"
)

// validator emits Validator: a row's part of an ETag, for runtime/httpcache.
func (e *emitter) validator(f *jen.File) {
	m := e.m
	f.Commentf("Validator returns a short string that changes whenever the %s row does (a", m.Name)
	f.Comment("hash of its cached copy), for the ETag of a page that shows it")
	f.Comment("(runtime/httpcache). Pass what a getter returned, row and error:")
	f.Commentf("Validator(r.%s(ctx, %s)). It sends no query of its own, and the getter", m.PKIndex.Method, m.PK.Param)
	f.Comment("answers from the cache when it holds the row. Not found gives runtime.NoRow; any")
	f.Comment("other error is returned. Render the page from that same row, so that it")
	f.Comment("never shows a version other than the one its ETag names.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id("Validator").Params(
		jen.Id("row").Op("*").Id(m.Name), jen.Err().Error(),
	).Params(jen.String(), jen.Error()).Block(
		jen.Return(jen.Id("r").Dot("t").Dot("ValidatorOf").Call(jen.Id("row"), jen.Err())),
	)
	f.Line()
}
