package gen

import (
	"go/token"
	"go/types"
	"strings"
	"unicode"
)

// What the templates print but do not decide: the names of generated
// methods, parameters and constants, and each lookup's miss policy. It is
// filled in once a package is free of errors.

// MissPolicy is what the runtime may do with a miss the database confirmed.
type MissPolicy int

// The policies, named as the runtime names them (engine.MissPolicy).
const (
	CacheMisses        MissPolicy = iota // the key's equality is the database's: cache it
	CacheMissesIfExact                   // cache it when the catalog says the text columns compare exactly
	NeverCacheMisses                     // the database may compare more loosely than the key: never cache it
)

func (p MissPolicy) String() string {
	switch p {
	case CacheMisses:
		return "CacheMisses"
	case CacheMissesIfExact:
		return "CacheMissesIfExact"
	}
	return "NeverCacheMisses"
}

// complete names what the templates print for every model of p, which is
// free of errors.
func complete(p *Package) {
	for _, f := range p.Files {
		for _, m := range f.Models {
			d := modelDecls(m.Name)
			m.Repo, m.New = d[0].name, d[1].name
			m.Var = strings.ToLower(m.Name[:1])
			switch m.Var {
			case "b", "i", "s", "d", "r": // taken by the mapper's and repository's own names
				m.Var = "row"
			}
			m.Vars = safeName(lowerFirst(m.Plural))
			m.Spec, m.Mapper = d[2].name, d[3].name
			for _, fl := range m.Fields {
				fl.Param = paramName(fl.Name)
				fl.Params = safeName(plural(lowerFirst(fl.Name)))
				if fl.FK != nil {
					fl.FK.Vars = safeName(lowerFirst(fl.FK.Plural))
				}
			}
			for i, ix := range m.Lookups() {
				ix.Ordinal = i
				ix.Const = lookupConst(m, ix)
				ix.Misses, ix.Text = missPolicy(ix.Fields)
			}
		}
	}
	for _, f := range p.Files {
		for _, m := range f.Models {
			for _, r := range m.Relations {
				r.Get, r.GetMany = relationGetters(r)
			}
		}
	}
}

// lookupConst names the constant that holds the ordinal of m's lookup ix:
// userByEmail for User's GetByEmail.
func lookupConst(m *Model, ix *Index) string {
	return lowerFirst(m.Name) + strings.TrimPrefix(ix.Method, "Get")
}

// relationGetters are the methods of the related repository that r's
// loaders call.
func relationGetters(r *Relation) (get, many string) {
	if r.Reverse == nil {
		return r.Field.FK.Get, r.Field.FK.Batch
	}
	for _, ix := range r.Reverse.Lookups() {
		if len(ix.Fields) == 1 && ix.Fields[0] == r.Field {
			return ix.Method, ix.Batch
		}
	}
	return "", "" // gen makes a reverse relation only of a pk or unique field
}

// lowerFirst turns a Go identifier into its lowerCamel form: ID -> id,
// OrgID -> orgID, HTTPCode -> httpCode, Email -> email.
func lowerFirst(s string) string {
	r := []rune(s)
	n := 0
	for n < len(r) && unicode.IsUpper(r[n]) {
		n++
	}
	if n > 1 && n < len(r) {
		n-- // HTTPCode: the C starts the next word
	}
	for i := 0; i < n; i++ {
		r[i] = unicode.ToLower(r[i])
	}
	return string(r)
}

// paramName is the parameter that carries the field name in a generated
// method. The methods use ctx, r, probe and key themselves.
func paramName(name string) string {
	p := lowerFirst(name)
	switch {
	case token.IsKeyword(p), types.Universe.Lookup(p) != nil,
		p == "ctx", p == "r", p == "probe", p == "key", p == "runtime":
		p += "Value"
	}
	return p
}

// safeName keeps a plural parameter off Go's keywords and predeclared
// names and the names the generated methods use themselves.
func safeName(p string) string {
	if token.IsKeyword(p) || p == "ctx" || p == "r" || p == "i" || p == "err" || types.Universe.Lookup(p) != nil {
		p += "Value"
	}
	return p
}

// missPolicy is the policy of a lookup on fields, and the fields that hold
// text or bytes: a cached not-found is sound only where the database's
// equality is the key's. Integers and bools compare exactly; whether text
// and bytes do depends on the column's collation, which the runtime reads
// from the catalog; floats, times, custom types and any type with a
// driver.Valuer (which may bind another value than the key is built from)
// never do.
func missPolicy(fields []*Field) (MissPolicy, []*Field) {
	var texts []*Field
	for _, f := range fields {
		c := f.Codec
		if hasValuer(c.Type) {
			return NeverCacheMisses, nil
		}
		for c.Kind == CodecPointer || c.Kind == CodecNull {
			c = c.Elem
			if hasValuer(c.Type) {
				return NeverCacheMisses, nil
			}
		}
		switch c.Kind {
		case CodecInt, CodecUint, CodecBool:
		case CodecString, CodecBytes, CodecByteArray:
			texts = append(texts, f)
		default:
			return NeverCacheMisses, nil
		}
	}
	if len(texts) > 0 {
		return CacheMissesIfExact, texts
	}
	return CacheMisses, nil
}

// hasValuer reports whether t or *t has a Value method, other than the
// database/sql Null types' own (which bind their value unchanged).
func hasValuer(t types.Type) bool {
	if n, ok := types.Unalias(t).(*types.Named); ok {
		if obj := n.Origin().Obj(); obj.Pkg() != nil && obj.Pkg().Path() == "database/sql" {
			return false
		}
	}
	if _, ok := types.Unalias(t).(*types.Pointer); ok {
		return hasValueMethod(t)
	}
	return hasValueMethod(t) || hasValueMethod(types.NewPointer(t))
}

func hasValueMethod(t types.Type) bool {
	return types.NewMethodSet(t).Lookup(nil, "Value") != nil
}
