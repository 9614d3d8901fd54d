package templates

import (
	"go/token"
	"go/types"

	"github.com/cachegen/cachegen/gen"
	"github.com/dave/jennifer/jen"
)

// batch emits GetBy<Pk>s and a GetBy<Field>s per one-field unique index:
// many rows with one batch read of the cache and at most one query.
func (e *emitter) batch(f *jen.File) {
	m := e.m
	if m.Batch != "" {
		e.batchGetter(f, 0, m.Batch, m.PK)
	}
	for i, ix := range m.Uniques {
		if ix.Batch != "" {
			e.batchGetter(f, i+1, ix.Batch, ix.Fields[0])
		}
	}
}

func (e *emitter) batchGetter(f *jen.File, index int, method string, fl *gen.Field) {
	m := e.m
	param := safeName(gen.Plural(lowerFirst(fl.Name))) // ids, emails
	probes := "probes"
	if param == probes {
		probes = "lookups"
	}
	f.Commentf("%s returns, for each of %s, the %s with that %s, or nil", method, param, m.Name, fl.Column)
	f.Comment("where there is none. The cache answers for the rows it holds and the")
	f.Comment("misses it has confirmed; the rest are read with one query and cached, as")
	f.Commentf("GetBy%s would. A repeated value is read once; each position gets its own", fl.Name)
	f.Comment("copy.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id(method).Params(
		jen.Id("ctx").Qual("context", "Context"),
		jen.Id(param).Index().Add(e.typeCode(fl.Type)),
	).Params(jen.Index().Op("*").Id(m.Name), jen.Error()).Block(
		jen.Id(probes).Op(":=").Make(jen.Index().Op("*").Id(m.Name), jen.Len(jen.Id(param))),
		jen.For(jen.Id("i").Op(":=").Range().Id(param)).Block(
			jen.Id(probes).Index(jen.Id("i")).Op("=").Op("&").Id(m.Name).Values(kv(fl.Name, jen.Id(param).Index(jen.Id("i")))),
		),
		jen.Return(jen.Id("r").Dot("t").Dot("GetMany").Call(jen.Id("ctx"), jen.Lit(index), jen.Id(probes))),
	)
	f.Line()
}

// safeName keeps a generated local name off Go's keywords and predeclared
// names and the names the generated methods use themselves.
func safeName(p string) string {
	if token.IsKeyword(p) || p == "ctx" || p == "r" || p == "i" || p == "err" || types.Universe.Lookup(p) != nil {
		p += "Value"
	}
	return p
}
