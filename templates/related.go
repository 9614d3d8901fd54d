package templates

import (
	"go/types"

	"github.com/cachegen/cachegen/gen"
	"github.com/dave/jennifer/jen"
)

// related emits the loaders of the model's relations: Load<Name> for one
// row, Load<Plural> for a slice with one batch read. A loader reads through
// the related model's own repository, found in the registry NewRepos wires,
// so the related row comes from its own cache and a cached row never holds
// it.
func (e *emitter) related(f *jen.File) {
	for _, rel := range e.m.Relations {
		if rel.Reverse == nil {
			e.forward(f, rel)
		} else {
			e.reverse(f, rel)
		}
	}
}

// loader describes what a relation's two loaders share.
type loader struct {
	rel      *gen.Relation
	one      string   // the parameter of Load<Name>: p
	many     string   // the parameter of Load<Plural>: posts
	target   jen.Code // the related model's type: User
	repoVar  string   // the variable holding the related repository: users; "r" when it is this one
	repoType jen.Code // its type: *UserRepo
}

// newLoader describes the loaders of rel, whose related model is name of
// package path, with repository type repo held in a variable vars (unless
// it is this model's: self).
func (e *emitter) newLoader(rel *gen.Relation, path, name, repo, vars string, self bool) *loader {
	l := &loader{rel: rel, one: e.m.Var, many: e.m.Vars}
	if path == e.pkg.Path {
		l.target = jen.Id(name)
		l.repoType = jen.Op("*").Id(repo)
	} else {
		l.target = jen.Qual(path, name)
		l.repoType = jen.Op("*").Qual(path, repo)
	}
	l.repoVar = "r"
	if !self {
		l.repoVar = vars
		if l.repoVar == l.many || l.repoVar == l.one {
			l.repoVar += "Repo"
		}
	}
	return l
}

// lookup returns the statements that put the related repository in
// repoVar: none when it is this repository.
func (l *loader) lookup() []jen.Code {
	if l.repoVar == "r" {
		return nil
	}
	return []jen.Code{
		jen.List(jen.Id(l.repoVar), jen.Err()).Op(":=").Qual(enginePkg, "Lookup").Types(l.repoType).Call(jen.Id("r").Dot("t")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
	}
}

// forward emits the loaders of a foreign key of this model: the row it
// references.
func (e *emitter) forward(f *jen.File, rel *gen.Relation) {
	m, fl, fk := e.m, rel.Field, rel.Field.FK
	l := e.newLoader(rel, fk.Path, fk.Name, fk.Repo, fk.Vars, fk.Model == m)
	v := value{code: jen.Id(l.one).Dot(fl.Name)}
	base := fl.Codec
	nullable := base.Kind == gen.CodecPointer || base.Kind == gen.CodecNull
	var null *jen.Statement // the fk is NULL
	switch base.Kind {
	case gen.CodecPointer:
		null, v = v.expr().Op("==").Nil(), v.deref()
		base = base.Elem
	case gen.CodecNull:
		null, v = jen.Op("!").Add(v.dot("Valid").expr()), v.dot(base.NullField)
		base = base.Elem
	}
	key := e.convertTo(base.Type, fk.PKType, v.expr())

	f.Commentf("%s returns the %s that %s.%s references, read through", rel.Load, fk.Name, l.one, fl.Name)
	f.Commentf("the %s repository and its cache: a cached %s never holds it. When", fk.Name, m.Name)
	if nullable {
		f.Commentf("%s is NULL or there is no such %s, the error satisfies errors.Is", fl.Name, fk.Name)
		f.Comment("with runtime.ErrNotFound.")
	} else {
		f.Commentf("there is no such %s, the error satisfies errors.Is with", fk.Name)
		f.Comment("runtime.ErrNotFound.")
	}
	var body []jen.Code
	if nullable {
		body = append(body, jen.If(null.Clone()).Block(jen.Return(jen.Nil(), jen.Qual(runtimePkg, "ErrNotFound"))))
	}
	body = append(body, l.lookup()...)
	body = append(body, jen.Return(jen.Id(l.repoVar).Dot(rel.Get).Call(jen.Id("ctx"), key)))
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id(rel.Load).
		Params(jen.Id("ctx").Qual("context", "Context"), jen.Id(l.one).Op("*").Id(m.Name)).
		Params(jen.Op("*").Add(l.target), jen.Error()).Block(body...)
	f.Line()

	// The key of one row for engine.LoadMany.
	pk := e.typeCode(fk.PKType)
	var keyBody []jen.Code
	if nullable {
		keyBody = append(keyBody, jen.If(null).Block(jen.Return(zeroValue(e, fk.PKType), jen.False())))
	}
	keyBody = append(keyBody, jen.Return(key, jen.True()))
	keyFunc := jen.Func().Params(jen.Id(l.one).Op("*").Id(m.Name)).Params(pk, jen.Bool()).Block(keyBody...)

	f.Commentf("%s returns the %s that each of %s references through", rel.LoadMany, fk.Name, l.many)
	if nullable {
		f.Commentf("%s, aligned with %s: nil where it is NULL or references no row.", fl.Name, l.many)
	} else {
		f.Commentf("%s, aligned with %s: nil where it references no row.", fl.Name, l.many)
	}
	f.Commentf("One batch reads them all through the %s repository: one read of its", fk.Name)
	f.Comment("cache, and at most one database query for the rows it misses.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id(rel.LoadMany).
		Params(jen.Id("ctx").Qual("context", "Context"), jen.Id(l.many).Index().Op("*").Id(m.Name)).
		Params(jen.Index().Op("*").Add(l.target), jen.Error()).Block(append(l.lookup(),
		jen.Return(jen.Qual(enginePkg, "LoadMany").Call(jen.Id("ctx"), jen.Id(l.many), jen.Id(l.repoVar).Dot(rel.GetMany), keyFunc)),
	)...)
	f.Line()
}

// reverse emits the loaders of a unique foreign key of another model that
// references this one (one-to-one): the row that references it.
func (e *emitter) reverse(f *jen.File, rel *gen.Relation) {
	m, src, fl := e.m, rel.Reverse, rel.Field
	l := e.newLoader(rel, e.pkg.Path, src.Name, src.Repo, src.Vars, src == m)
	pkv := jen.Id(l.one).Dot(m.PK.Name)
	// the fk value that references the row: its pk as the fk's type
	var key jen.Code
	var setup []jen.Code
	switch c := fl.Codec; c.Kind {
	case gen.CodecPointer:
		setup = []jen.Code{jen.Id("ref").Op(":=").Add(e.convertTo(m.PK.Type, c.Elem.Type, pkv.Clone()))}
		key = jen.Op("&").Id("ref")
	case gen.CodecNull:
		key = jen.Add(e.typeCode(fl.Type)).Values(
			kv(c.NullField, e.convertTo(m.PK.Type, c.Elem.Type, pkv.Clone())),
			kv("Valid", jen.True()))
	default:
		key = e.convertTo(m.PK.Type, fl.Type, pkv.Clone())
	}

	f.Commentf("%s returns the %s whose %s references %s, read through", rel.Load, src.Name, fl.Name, l.one)
	f.Commentf("the %s repository and its cache by its unique %s: a cached %s", src.Name, fl.Column, m.Name)
	f.Comment("never holds it. When there is none, the error satisfies errors.Is with")
	f.Comment("runtime.ErrNotFound.")
	body := append(l.lookup(), setup...)
	body = append(body, jen.Return(jen.Id(l.repoVar).Dot(rel.Get).Call(jen.Id("ctx"), key)))
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id(rel.Load).
		Params(jen.Id("ctx").Qual("context", "Context"), jen.Id(l.one).Op("*").Id(m.Name)).
		Params(jen.Op("*").Add(l.target), jen.Error()).Block(body...)
	f.Line()

	keyFunc := jen.Func().Params(jen.Id(l.one).Op("*").Id(m.Name)).Params(e.typeCode(fl.Type), jen.Bool()).Block(
		append(setup, jen.Return(key, jen.True()))...)
	f.Commentf("%s returns the %s that references each of %s through", rel.LoadMany, src.Name, l.many)
	f.Commentf("%s, aligned with %s: nil where there is none. One batch reads them", fl.Name, l.many)
	f.Commentf("all through the %s repository: one read of its cache, and at most one", src.Name)
	f.Comment("database query for the rows it misses.")
	f.Func().Params(jen.Id("r").Op("*").Id(e.repoT)).Id(rel.LoadMany).
		Params(jen.Id("ctx").Qual("context", "Context"), jen.Id(l.many).Index().Op("*").Id(m.Name)).
		Params(jen.Index().Op("*").Add(l.target), jen.Error()).Block(append(l.lookup(),
		jen.Return(jen.Qual(enginePkg, "LoadMany").Call(jen.Id("ctx"), jen.Id(l.many), jen.Id(l.repoVar).Dot(rel.GetMany), keyFunc)),
	)...)
	f.Line()
}

// convertTo writes x, of type from, as a value of type to: x itself when
// the types are identical, to(x) otherwise (gen checked it converts).
func (e *emitter) convertTo(from, to types.Type, x *jen.Statement) *jen.Statement {
	if types.Identical(from, to) {
		return x
	}
	return jen.Add(e.typeCode(to)).Call(x)
}

// zeroValue writes the zero value of t.
func zeroValue(e *emitter, t types.Type) jen.Code {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsNumeric != 0:
			return jen.Lit(0)
		case u.Info()&types.IsString != 0:
			return jen.Lit("")
		case u.Info()&types.IsBoolean != 0:
			return jen.False()
		}
	case *types.Pointer, *types.Slice, *types.Map, *types.Interface:
		return jen.Nil()
	}
	return jen.Add(e.typeCode(t)).Values()
}
