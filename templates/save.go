package templates

import "github.com/dave/jennifer/jen"

// save emits Save.
func (e *emitter) save(f *jen.File) {
	m := e.m
	p := e.recv
	if m.AutoPK {
		f.Commentf("Save inserts %s when its %s is zero, setting %s to the key the database", p, m.PK.Name, m.PK.Name)
		f.Comment("generated; otherwise it updates the row, or inserts it when there is none.")
	} else {
		f.Commentf("Save updates the row with the %s of %s, or inserts it when there is none.", m.PK.Name, p)
	}
	f.Comment("Before the write commits it locks the cached copies of the row under its old")
	f.Comment("and new keys and the All list; they are invalidated once it has committed.")
	f.Commentf("On error %s is left unchanged. Related fields (db:\"-\") are neither", p)
	f.Comment("written nor cached.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id("Save").
		Params(jen.Id("ctx").Qual("context", "Context"), jen.Id(p).Op("*").Id(m.Name)).Error().Block(
		jen.Return(jen.Id("r").Dot("t").Dot("Save").Call(jen.Id("ctx"), jen.Id(p))),
	)
	f.Line()
	e.saveMany(f)
}

// saveMany emits SaveMany.
func (e *emitter) saveMany(f *jen.File) {
	m := e.m
	f.Commentf("SaveMany saves each of rows as Save would, in one transaction: all or none.")
	f.Comment("The rows are read under the row lock and written with multi-row statements")
	f.Comment("where the database allows (see engine.Table.SaveMany), and every cached")
	f.Comment("key of them is locked in one store round trip before the commit and")
	f.Comment("released in one after it. Two rows with the same primary key are an error.")
	f.Comment("On error the rows are left unchanged.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id("SaveMany").
		Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("rows").Index().Op("*").Id(m.Name)).Error().Block(
		jen.Return(jen.Id("r").Dot("t").Dot("SaveMany").Call(jen.Id("ctx"), jen.Id("rows"))),
	)
	f.Line()
}
