package templates

import (
	"github.com/cachegen/cachegen/gen"
	"github.com/dave/jennifer/jen"
)

// batch emits GetBy<Pk>s and a GetBy<Field>s per one-field unique index:
// many rows with one batch read of the cache and at most one query.
func (e *emitter) batch(f *jen.File) {
	for _, ix := range e.m.Lookups() {
		if ix.Batch != "" {
			e.batchGetter(f, ix)
		}
	}
}

func (e *emitter) batchGetter(f *jen.File, ix *gen.Index) {
	m, method, fl := e.m, ix.Batch, ix.Fields[0]
	param := fl.Params // ids, emails
	probes := "probes"
	if param == probes {
		probes = "lookups"
	}
	f.Commentf("%s returns, for each of %s, the %s with that %s, or nil", method, param, m.Name, fl.Column)
	f.Comment("where there is none. The cache answers for the rows it holds and the")
	f.Comment("misses it has confirmed; the rest are read with one query and cached, as")
	f.Commentf("%s would. A repeated value is read once; each position gets its own", ix.Method)
	f.Comment("copy.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id(method).Params(
		jen.Id("ctx").Qual("context", "Context"),
		jen.Id(param).Index().Add(e.typeCode(fl.Type)),
	).Params(jen.Index().Op("*").Id(m.Name), jen.Error()).Block(
		jen.Id(probes).Op(":=").Make(jen.Index().Op("*").Id(m.Name), jen.Len(jen.Id(param))),
		jen.For(jen.Id("i").Op(":=").Range().Id(param)).Block(
			jen.Id(probes).Index(jen.Id("i")).Op("=").Op("&").Id(m.Name).Values(kv(fl.Name, jen.Id(param).Index(jen.Id("i")))),
		),
		jen.Return(jen.Id("r").Dot("t").Dot("GetMany").Call(jen.Id("ctx"), jen.Id(ix.Const), jen.Id(probes))),
	)
	f.Line()
}
