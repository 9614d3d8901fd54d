package templates

import (
	"go/types"
	"strings"

	"github.com/cachegen/cachegen/gen"
	"github.com/dave/jennifer/jen"
)

// emitter holds what the families share about one model. Every name it
// prints comes from gen's model.
type emitter struct {
	pkg    *gen.Package
	m      *gen.Model
	recv   string // the model parameter of mapper methods, e.g. "u" for User
	spec   string // userSpec
	mapper string // userMapper
	repoT  string // UserRepo
}

func newEmitter(pkg *gen.Package, m *gen.Model) *emitter {
	return &emitter{pkg: pkg, m: m, recv: m.Var, spec: m.Spec, mapper: m.Mapper, repoT: m.Repo}
}

// field returns the expression recv.Field.
func (e *emitter) field(f *gen.Field) *jen.Statement { return jen.Id(e.recv).Dot(f.Name) }

// typeCode renders a Go type, qualifying names from other packages.
func (e *emitter) typeCode(t types.Type) jen.Code {
	switch t := t.(type) {
	case *types.Basic:
		return jen.Id(t.Name())
	case *types.Pointer:
		return jen.Op("*").Add(e.typeCode(t.Elem()))
	case *types.Slice:
		return jen.Index().Add(e.typeCode(t.Elem()))
	case *types.Array:
		return jen.Index(jen.Lit(int(t.Len()))).Add(e.typeCode(t.Elem()))
	case *types.Alias:
		return e.typeCode(types.Unalias(t))
	case *types.Named:
		obj := t.Obj()
		var s *jen.Statement
		if obj.Pkg() == nil || obj.Pkg().Path() == e.pkg.Path {
			s = jen.Id(obj.Name())
		} else {
			s = jen.Qual(obj.Pkg().Path(), obj.Name())
		}
		if args := t.TypeArgs(); args != nil && args.Len() > 0 {
			var targs []jen.Code
			for i := 0; i < args.Len(); i++ {
				targs = append(targs, e.typeCode(args.At(i)))
			}
			s = s.Types(targs...)
		}
		return s
	}
	// gen only lets through types the cases above cover.
	return jen.Id(types.TypeString(t, nil))
}

// indexFields returns the parameters of a lookup by ix: (name type, ...).
func (e *emitter) indexParams(fields []*gen.Field) []jen.Code {
	params := []jen.Code{jen.Id("ctx").Qual("context", "Context")}
	for _, f := range fields {
		params = append(params, jen.Id(f.Param).Add(e.typeCode(f.Type)))
	}
	return params
}

// probe returns &Model{F: f, ...}: the row the runtime takes keys and
// arguments from.
func (e *emitter) probe(fields []*gen.Field) *jen.Statement {
	return jen.Op("&").Add(e.probeValue(fields))
}

// probeValue is the probe as a value: Model{Field: param, ...}.
func (e *emitter) probeValue(fields []*gen.Field) *jen.Statement {
	var items []jen.Code
	for _, f := range fields {
		items = append(items, kv(f.Name, jen.Id(f.Param)))
	}
	return jen.Id(e.m.Name).Values(items...)
}

// columnList names columns for doc comments: "org_id and handle".
func columnList(fields []*gen.Field) string {
	var cols []string
	for _, f := range fields {
		cols = append(cols, f.Column)
	}
	switch len(cols) {
	case 1:
		return cols[0]
	case 2:
		return cols[0] + " and " + cols[1]
	}
	return strings.Join(cols[:len(cols)-1], ", ") + " and " + cols[len(cols)-1]
}
