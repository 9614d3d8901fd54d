package gen

import (
	"errors"
	"go/token"
	"go/types"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Foreign keys and the relations they give: a loader per foreign key on the
// model's repository, a reverse loader on the target's for a unique one
// (one-to-one), batch getters they read through, and the package's Repos.

const (
	fkTypeHint  = "an fk field has the type of the target's primary key, or a pointer or sql.Null of it (a narrower integer fits too)"
	reverseHint = "reverse names the loader a unique fk gives its target's repository: reverse=Profile makes Load" +
		"Profile and LoadProfiles"
)

var relationNameRe = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)

var errNoPackage = errors.New("no such package")

// fkTarget is what a foreign key references.
type fkTarget struct {
	cand   *candidate // a model of this package; nil for another package's
	path   string     // its package's import path
	name   string     // its type name
	pkName string
	pkType types.Type
	pkOK   bool // pkType has a codec (a model of this package may have errors of its own)
}

// foreignKey resolves fk=Model (this package) or fk=path/to/pkg.Model
// (another package) of one field and checks its type against the target's
// primary key.
func (a *analyzer) foreignKey(fi *fieldInfo) {
	tg := a.fkTarget(fi)
	if tg == nil {
		return
	}
	fk := &FK{Target: fi.fk, Path: tg.path, Name: tg.name, PK: tg.pkName, PKType: tg.pkType,
		Get: "GetBy" + tg.pkName, Batch: "GetBy" + plural(tg.pkName), Repo: tg.name + "Repo",
		Plural: plural(tg.name), Unique: fi.pk || fi.unique}
	if tg.cand != nil {
		fk.Model = tg.cand.model
	}
	if fi.codec == nil || !tg.pkOK {
		return
	}
	if !fkFits(baseCodec(fi.codec).Type, tg.pkType) {
		q := a.qualifier
		a.errorf(fi.pos, fkTypeHint,
			"field %s: fk=%s type mismatch: %s does not match %s.%s (%s)", fi.name, fi.fk,
			types.TypeString(fi.v.Type(), q), tg.name, tg.pkName, types.TypeString(tg.pkType, q))
		return
	}
	fi.field.FK = fk
}

// fkTarget finds the model fk=… names, or reports why it cannot.
func (a *analyzer) fkTarget(fi *fieldInfo) *fkTarget {
	ref, name := "", fi.fk
	if i := strings.LastIndex(fi.fk, "."); i >= 0 {
		ref, name = fi.fk[:i], fi.fk[i+1:]
	}
	if ref == "" || ref == a.pkg.PkgPath {
		target := a.byName[name]
		if target == nil || target.model == nil {
			if obj, ok := a.pkg.Types.Scope().Lookup(name).(*types.TypeName); ok && obj != nil {
				a.errorf(fi.pos, fkHint, "field %s: fk target %s is not a model (it has no cache:\"pk\" field)", fi.name, fi.fk)
			} else {
				a.errorf(fi.pos, fkHint, "field %s: fk=%s: no type %s in package %s", fi.name, fi.fk, name, a.pkg.Name)
			}
			return nil
		}
		tg := &fkTarget{cand: target, path: a.pkg.PkgPath, name: name, pkName: target.pk.name, pkType: target.pk.v.Type()}
		tg.pkOK = target.pk.codec != nil
		return tg
	}
	pkg, err := a.importPackage(ref)
	if pkg == nil {
		a.errorf(fi.pos, "fk=path/to/pkg.Model names a model of another package by the package's import path, e.g. fk=example.com/app/users.User",
			"field %s: fk=%s: cannot load package %s: %v", fi.name, fi.fk, ref, err)
		return nil
	}
	obj, _ := pkg.Scope().Lookup(name).(*types.TypeName)
	if obj == nil || !obj.Exported() {
		a.errorf(fi.pos, fkHint, "field %s: fk=%s: no exported type %s in package %s", fi.name, fi.fk, name, pkg.Path())
		return nil
	}
	st, _ := obj.Type().Underlying().(*types.Struct)
	for i := 0; st != nil && i < st.NumFields(); i++ {
		if hasCacheOption(st.Tag(i), "pk") {
			f := st.Field(i)
			_, err := codecFor(f.Type())
			return &fkTarget{path: pkg.Path(), name: name, pkName: f.Name(), pkType: f.Type(), pkOK: err == nil}
		}
	}
	a.errorf(fi.pos, fkHint, "field %s: fk target %s is not a model (it has no cache:\"pk\" field)", fi.name, fi.fk)
	return nil
}

// importPackage returns the package with import path ref: one this package
// imports, or else one loaded for the purpose.
func (a *analyzer) importPackage(ref string) (*types.Package, error) {
	for _, p := range a.pkg.Types.Imports() {
		if p.Path() == ref {
			return p, nil
		}
	}
	if p, ok := a.loaded[ref]; ok {
		return p, nil
	}
	if a.loaded == nil {
		a.loaded = map[string]*types.Package{}
	}
	dir := a.pkg.Dir
	if dir == "" && len(a.pkg.GoFiles) > 0 {
		dir = filepath.Dir(a.pkg.GoFiles[0])
	}
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedTypes, Dir: dir}, ref)
	if err != nil {
		return nil, err
	}
	if len(pkgs) != 1 || len(pkgs[0].Errors) > 0 || pkgs[0].Types == nil {
		if len(pkgs) == 1 && len(pkgs[0].Errors) > 0 {
			return nil, pkgs[0].Errors[0]
		}
		return nil, errNoPackage
	}
	a.loaded[ref] = pkgs[0].Types
	return pkgs[0].Types, nil
}

// hasCacheOption reports whether a struct tag's cache key lists opt.
func hasCacheOption(tag, opt string) bool {
	pairs, _ := parseStructTag(tag)
	for _, p := range pairs {
		if p.Key != "cache" {
			continue
		}
		for _, o := range strings.Split(p.Value, ",") {
			if strings.TrimSpace(o) == opt {
				return true
			}
		}
	}
	return false
}

// baseCodec is the codec under any pointer or Null.
func baseCodec(c *Codec) *Codec {
	for (c.Kind == CodecPointer || c.Kind == CodecNull) && c.Elem != nil {
		c = c.Elem
	}
	return c
}

// fkFits reports whether every value of fk (a foreign key's type, under any
// pointer or Null) converts to the primary key type pk without loss: the
// same underlying type, a narrower integer of the same signedness, or a
// float32 for a float64.
func fkFits(fk, pk types.Type) bool {
	fu, pu := fk.Underlying(), pk.Underlying()
	if types.Identical(fu, pu) {
		return true
	}
	fb, ok1 := fu.(*types.Basic)
	pb, ok2 := pu.(*types.Basic)
	if !ok1 || !ok2 {
		return false
	}
	fInfo, pInfo := fb.Info(), pb.Info()
	switch {
	case fInfo&types.IsInteger != 0 && pInfo&types.IsInteger != 0:
		return fInfo&types.IsUnsigned == pInfo&types.IsUnsigned && intBits(fb) <= intBits(pb)
	case fb.Kind() == types.Float32 && pb.Kind() == types.Float64:
		return true
	}
	return false
}

// intBits is the width of an integer type, int and uint counted as 64.
func intBits(b *types.Basic) int {
	switch b.Kind() {
	case types.Int8, types.Uint8:
		return 8
	case types.Int16, types.Uint16:
		return 16
	case types.Int32, types.Uint32:
		return 32
	}
	return 64
}

// relations names the batch getters, the loaders and the Repos fields of
// every model, once all models are built, and reports their collisions,
// the one-to-many relations asked for, and the fk cycles no insert order
// can satisfy.
func (a *analyzer) relations() {
	a.batchGetters()
	for _, c := range a.models {
		for _, fi := range c.fields {
			if fi.field == nil || fi.field.FK == nil {
				if fi.reverseAsked && fi.fk == "" {
					a.errorf(fi.pos, reverseHint, "field %s: reverse without fk", fi.name)
				}
				continue
			}
			fk := fi.field.FK
			name := relationName(fi.name)
			c.model.Relations = append(c.model.Relations, newRelation(name, fi, nil))
			if rel := a.reverseRelation(c, fi); rel != nil {
				fk.Model.Relations = append(fk.Model.Relations, rel)
			}
		}
	}
	// forward relations first, then reverse ones, each in declaration order
	for _, c := range a.models {
		sortRelations(c.model.Relations)
	}
	for _, c := range a.models {
		a.checkMethods(c)
	}
	a.checkCycles()
	a.checkRepos()
	a.checkConstraints()
}

// checkConstraints reports a foreign key between models of files with
// different build constraints: the loaders of one would name the other's
// repository in a build that leaves it out.
func (a *analyzer) checkConstraints() {
	for _, c := range a.models {
		for _, fi := range c.fields {
			if fi.field == nil || fi.field.FK == nil || fi.field.FK.Model == nil {
				continue
			}
			target := a.byName[fi.field.FK.Model.Name]
			from, to := a.constraints[c.source], a.constraints[target.source]
			if from == to {
				continue
			}
			a.errorf(fi.pos, "declare both models in files with the same //go:build line (or none)",
				"field %s: fk=%s joins %s (%s) and %s (%s), whose files are built under different constraints",
				fi.name, fi.fk, c.name, orNone(from), target.name, orNone(to))
		}
	}
}

func orNone(line string) string {
	if line == "" {
		return "no build constraint"
	}
	return line
}

// batchGetters names the batch getter of each primary key and one-field
// unique index.
func (a *analyzer) batchGetters() {
	for _, c := range a.models {
		m := c.model
		if m.PK != nil {
			m.PKIndex.Batch = "GetBy" + plural(m.PK.Name)
		}
		for _, ix := range m.Uniques {
			if len(ix.Fields) == 1 {
				ix.Batch = "GetBy" + plural(ix.Fields[0].Name)
			}
		}
	}
}

// relationName is the relation of a foreign key field: AuthorID -> Author,
// OwnerId -> Owner, Parent -> Parent.
func relationName(field string) string {
	for _, suffix := range []string{"ID", "Id"} {
		if n, ok := strings.CutSuffix(field, suffix); ok && n != "" {
			return n
		}
	}
	return field
}

// reverseRelation returns the reverse loader that the fk field fi of c
// gives its target: only a unique fk (one row per target) to a model of
// this package, whose type converts both ways. It reports a reverse asked
// for where there can be none: a one-to-many relation is never cached.
func (a *analyzer) reverseRelation(c *candidate, fi *fieldInfo) *Relation {
	fk := fi.field.FK
	asked := fi.reverseAsked
	switch {
	case !fk.Unique:
		if asked {
			a.errorf(fi.pos, "read them with a query of your own (a list is never cached: it is open-ended), then load the rows they reference with Load"+plural(relationName(fi.name)),
				"field %s: reverse on fk=%s, which is not unique: a %s has any number of %s, and one-to-many lists are never cached",
				fi.name, fi.fk, fk.Name, plural(c.name))
		}
		return nil
	case fk.Model == nil:
		if asked {
			a.errorf(fi.pos, "declare the reverse relation's loader yourself in the target's package",
				"field %s: reverse on fk=%s, a model of another package, whose repository cachegen does not generate here", fi.name, fi.fk)
		}
		return nil
	case !types.Identical(baseCodec(fi.codec).Type.Underlying(), fk.PKType.Underlying()):
		if asked {
			a.errorf(fi.pos, fkTypeHint+"; a reverse loader needs the very same type",
				"field %s: reverse on fk=%s: %s converts to %s.%s but not back", fi.name, fi.fk,
				types.TypeString(fi.v.Type(), a.qualifier), fk.Name, fk.PK)
		}
		return nil
	}
	name := c.name
	if fi.reverse != "" {
		if !relationNameRe.MatchString(fi.reverse) {
			a.errorf(fi.pos, reverseHint, "field %s: invalid reverse name %q: an exported Go name", fi.name, fi.reverse)
			return nil
		}
		name = fi.reverse
	}
	return newRelation(name, fi, c.model)
}

// newRelation is the relation name of the fk field fi, its loaders named
// after it; reverse is the model holding fi when the relation is its
// target's.
func newRelation(name string, fi *fieldInfo, reverse *Model) *Relation {
	return &Relation{Name: name, Plural: plural(name), Field: fi.field, Reverse: reverse, Pos: fi.pos,
		Load: "Load" + name, LoadMany: "Load" + plural(name)}
}

// sortRelations puts forward relations before reverse ones, keeping the
// order within each.
func sortRelations(rs []*Relation) {
	var fwd, rev []*Relation
	for _, r := range rs {
		if r.Reverse == nil {
			fwd = append(fwd, r)
		} else {
			rev = append(rev, r)
		}
	}
	copy(rs, append(fwd, rev...))
}

// checkMethods reports two generated methods of one repository with the
// same name: getters, batch getters and loaders.
func (a *analyzer) checkMethods(c *candidate) {
	m := c.model
	if m.PK == nil {
		return
	}
	methods := map[string]string{
		m.PKIndex.Method: "the primary key " + m.PK.Name,
		"All":            "All", "Save": "Save", "Delete": "Delete", "Stats": "Stats",
	}
	for _, ix := range m.Uniques {
		methods[ix.Method] = "the unique lookup " + ix.Name
	}
	add := func(name, what string, pos token.Position, hint string) bool {
		if prev, ok := methods[name]; ok {
			a.errorf(pos, hint, "%s of %s collides with %s", name, what, prev)
			return false
		}
		methods[name] = what
		return true
	}
	batchHint := "rename the field: a batch getter is GetBy + the field's plural, and must not meet another getter"
	if !add(m.PKIndex.Batch, "the primary key "+m.PK.Name+" (batch)", m.PK.Pos, batchHint) {
		m.PKIndex.Batch = ""
	}
	for _, ix := range m.Uniques {
		if ix.Batch != "" && !add(ix.Batch, "the unique field "+ix.Fields[0].Name+" (batch)", ix.Pos, batchHint) {
			ix.Batch = ""
		}
	}
	for _, r := range m.Relations {
		what, hint := "the foreign key "+r.Field.Name, "rename the field: its loaders are Load + the field's name without ID, and its plural"
		if r.Reverse != nil {
			what = "the reverse of " + r.Reverse.Name + "." + r.Field.Name
			hint = reverseHint
		}
		_ = add(r.Load, what, r.Pos, hint) && add(r.LoadMany, what, r.Pos, hint)
	}
}

// checkCycles reports every cycle of NOT NULL foreign keys between the
// models of the package, a model referencing itself included: no row of the
// cycle can be inserted first, since each needs a row of the next to exist.
// The error is at the field that closes the cycle.
func (a *analyzer) checkCycles() {
	const (
		white = iota
		grey
		black
	)
	color := map[*candidate]int{}
	var stack []*fieldInfo
	var visit func(c *candidate)
	visit = func(c *candidate) {
		color[c] = grey
		for _, fi := range c.fields {
			if fi.field == nil || fi.field.FK == nil || fi.field.FK.Model == nil {
				continue
			}
			if k := fi.codec.Kind; k == CodecPointer || k == CodecNull {
				continue // a NULL breaks the cycle
			}
			next := a.byName[fi.field.FK.Model.Name]
			stack = append(stack, fi)
			switch color[next] {
			case grey:
				a.cycleError(c, fi, next, stack)
			case white:
				visit(next)
			}
			stack = stack[:len(stack)-1]
		}
		color[c] = black
	}
	for _, c := range a.models {
		if color[c] == white {
			visit(c)
		}
	}
}

// cycleError reports the cycle that fi, a field of c, closes back to
// start; stack holds the fk fields from the walk's first model to fi.
func (a *analyzer) cycleError(c *candidate, fi *fieldInfo, start *candidate, stack []*fieldInfo) {
	owner := map[*fieldInfo]*candidate{}
	for _, m := range a.models {
		for _, f := range m.fields {
			owner[f] = m
		}
	}
	first := len(stack) - 1
	for k, f := range stack {
		if owner[f] == start {
			first = k
			break
		}
	}
	hint := "make one fk of the cycle nullable (a pointer or sql.Null type), so that its row can be inserted first and the reference set after"
	if start == c && first == len(stack)-1 {
		a.errorf(fi.pos, hint, "field %s: fk=%s references its own model and is NOT NULL: the first %s can never be inserted",
			fi.name, fi.fk, c.name)
		return
	}
	var path []string
	for _, f := range stack[first:] {
		path = append(path, owner[f].name+"."+f.name)
	}
	a.errorf(fi.pos, hint, "field %s: fk=%s closes a cycle of NOT NULL foreign keys (%s -> %s): no row of it can be inserted first",
		fi.name, fi.fk, strings.Join(path, " -> "), start.name)
}

// checkRepos names each model's field of the package's Repos and reports
// what would collide with Repos and NewRepos.
func (a *analyzer) checkRepos() {
	fields := map[string]string{}
	for _, c := range a.models {
		m := c.model
		m.Plural = plural(m.Name)
		if prev, ok := fields[m.Plural]; ok {
			a.errorf(m.Pos, "rename one of the models", "model %s and model %s would both be Repos.%s", m.Name, prev, m.Plural)
			continue
		}
		fields[m.Plural] = m.Name
	}
	if len(a.models) == 0 {
		return
	}
	for _, name := range []string{"Repos", "NewRepos"} {
		obj := a.pkg.Types.Scope().Lookup(name)
		if obj == nil {
			continue
		}
		pos := a.position(obj.Pos())
		if strings.HasSuffix(pos.Filename, generatedSuffix) {
			continue
		}
		a.errorf(pos, "rename it: cachegen generates Repos and NewRepos in every package with models",
			"%s is declared here and generated by cachegen", name)
	}
	for _, c := range a.models {
		m := c.model
		if m.PKIndex == nil {
			continue
		}
		for _, ix := range m.Lookups() {
			name := lookupConst(m, ix)
			obj := a.pkg.Types.Scope().Lookup(name)
			if obj == nil {
				continue
			}
			if pos := a.position(obj.Pos()); !strings.HasSuffix(pos.Filename, generatedSuffix) {
				a.errorf(pos, "rename it: cachegen names the number of each lookup of a model so",
					"%s is declared here and generated by cachegen for %s.%s", name, m.Name, ix.Method)
			}
		}
	}
	a.checkDeclared()
}

// checkDeclared reports a package-level name that a model's generated file
// would declare too (its repository type, constructor, spec and mapper)
// where the package declares it already, a model included, and two models
// whose generated names meet: the generated file would not compile.
func (a *analyzer) checkDeclared() {
	generated := map[string]string{} // name -> what generates it
	for _, c := range a.models {
		m := c.model
		for _, d := range modelDecls(m.Name) {
			what := d.what + " of model " + m.Name
			if prev, ok := generated[d.name]; ok {
				a.errorf(m.Pos, "rename one of the models", "%s %s of model %s would also be the %s", d.what, d.name, m.Name, prev)
				continue
			}
			generated[d.name] = what
			obj := a.pkg.Types.Scope().Lookup(d.name)
			if obj == nil {
				continue
			}
			pos := a.position(obj.Pos())
			if strings.HasSuffix(pos.Filename, generatedSuffix) {
				continue // about to be rewritten
			}
			declared := d.name + " is declared here"
			if other, ok := a.byName[d.name]; ok && other.model != nil {
				declared = "model " + d.name + " is declared here"
			}
			a.errorf(pos, "rename it, or the model: cachegen generates "+d.name+" for "+m.Name,
				"%s and would be generated by cachegen as the %s", declared, what)
		}
	}
}

// generatedDecl is one package-level name a model's generated file declares.
type generatedDecl struct{ name, what string }

// modelDecls are the package-level names the generated file declares for
// the model name, besides its lookup constants: complete gives the model
// the same names.
func modelDecls(name string) []generatedDecl {
	return []generatedDecl{
		{name + "Repo", "repository type"},
		{"New" + name + "Repo", "constructor"},
		{lowerFirst(name) + "Spec", "spec"},
		{lowerFirst(name) + "Mapper", "mapper"},
	}
}
