package gen

import (
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/token"
	"go/types"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/tools/go/packages"
)

const (
	directivePrefix = "//cachegen:"
	directiveUsage  = "the directive is //cachegen:table NAME [ttl=DURATION], e.g. //cachegen:table users ttl=10m"
	optionsHint     = "valid cache options: pk, manual (with pk), unique, unique_together=GROUP, fk=Model, reverse[=Name] (with a unique fk); separate them with commas"
	pkHint          = "mark the primary key with cache:\"pk\" (next to its db:\"column\" tag)"
	fkHint          = "fk=Model names a model of the same package, fk=path/to/pkg.Model one of another: a struct with a cache:\"pk\" field"
)

var (
	columnRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	groupRe    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	cacheKeyRe = regexp.MustCompile(`(^|\s)cache:`)
	tableRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
	// spacedDirectiveRe is a directive written with a space after the
	// slashes, which Go reads as an ordinary comment.
	spacedDirectiveRe = regexp.MustCompile(`^//[ \t]+cachegen:`)
)

// analyzer finds and checks the models of one type-checked package.
type analyzer struct {
	pkg    *packages.Package
	fset   *token.FileSet
	errs   ErrorList
	cands  []*candidate              // structs with a directive or a cache tag, in source order
	byName map[string]*candidate     // cands by type name
	models []*candidate              // cands with a pk field, in source order
	loaded map[string]*types.Package // packages loaded for fk=path.Model, by path
	// constraints holds the //go:build line of each source file that has one.
	constraints map[string]string
}

// candidate is a struct that cachegen must look at: it has a directive or
// a cache tag. It becomes a model when it has a pk field.
type candidate struct {
	name      string
	source    string // the file that declares it
	pos       token.Position
	st        *types.Struct
	table     string
	ttl       time.Duration
	directive bool
	dirPos    token.Position
	fields    []*fieldInfo
	malformed bool // a malformed tag hid some options: don't claim the pk is missing
	pk        *fieldInfo
	model     *Model
}

// fieldInfo is what the tags of one struct field say.
type fieldInfo struct {
	v       *types.Var
	name    string
	pos     token.Position
	column  string // set for a column (not for db:"-" or a missing db tag)
	related bool
	codec   *Codec
	pk      bool
	manual  bool
	unique  bool
	groups  []string // unique_together groups, in tag order
	fk      string
	field   *Field
	// reverse=Name (or reverse alone) asks for the reverse loader of a
	// unique fk on its target's repository
	reverseAsked bool
	reverse      string
}

func (a *analyzer) errorf(pos token.Position, hint, format string, args ...any) {
	a.errs = append(a.errs, errorf(pos, hint, format, args...))
}

// qualifier writes types of the analysed package unqualified, and others
// by package name, as the user writes them: *sql.NullString, Org.
func (a *analyzer) qualifier(p *types.Package) string {
	if p == a.pkg.Types {
		return ""
	}
	return p.Name()
}

func (a *analyzer) position(p token.Pos) token.Position { return a.fset.Position(p) }

// run finds the candidates of every file, checks them, and builds the models.
func (a *analyzer) run() {
	a.byName = map[string]*candidate{}
	for _, f := range a.pkg.Syntax {
		tf := a.fset.File(f.Pos())
		if tf == nil {
			continue
		}
		source := tf.Name()
		if strings.HasSuffix(source, generatedSuffix) {
			continue
		}
		if !filepath.IsAbs(source) {
			if abs, err := filepath.Abs(source); err == nil {
				source = abs
			}
		}
		a.file(f, source)
	}
	for _, c := range a.cands {
		a.fieldsOf(c)
	}
	for _, c := range a.cands {
		a.checkPK(c)
	}
	for _, c := range a.models {
		a.buildModel(c)
	}
	a.relations()
}

// file collects the candidates of one file, and reports directives that
// are malformed or attached to nothing.
func (a *analyzer) file(f *ast.File, source string) {
	if line := buildConstraint(f); line != "" {
		if a.constraints == nil {
			a.constraints = map[string]string{}
		}
		a.constraints[source] = line
	}
	used := map[*ast.Comment]bool{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		grouped := gd.Lparen.IsValid()
		if grouped && gd.Doc != nil {
			for _, c := range directivesIn(gd.Doc) {
				used[c] = true
				a.errorf(a.position(c.Slash), "put the directive in the doc comment of the type itself, inside the parentheses",
					"a //cachegen: directive on a grouped type declaration applies to no type")
			}
		}
		for _, spec := range gd.Specs {
			ts, ok := spec.(*ast.TypeSpec)
			if !ok {
				continue
			}
			var dirs []*ast.Comment
			if !grouped {
				dirs = append(dirs, directivesIn(gd.Doc)...)
			}
			dirs = append(dirs, directivesIn(ts.Doc)...)
			for _, c := range dirs {
				used[c] = true
			}
			a.typeSpec(ts, dirs, source)
		}
	}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if spacedDirectiveRe.MatchString(c.Text) {
				a.errorf(a.position(c.Slash), "write it with no space after the slashes, as //cachegen:table NAME: with the space it is an ordinary comment, and the model keeps its default table and TTL",
					"\"// cachegen:\" with a space after the slashes is a comment, not a //cachegen: directive")
				continue
			}
			if strings.HasPrefix(c.Text, directivePrefix) && !used[c] {
				a.errorf(a.position(c.Slash), "put it in the doc comment of a struct type: the line right above `type Name struct {`, with no blank line between",
					"//cachegen: directive is not in the doc comment of a type")
			}
		}
	}
}

func directivesIn(cg *ast.CommentGroup) []*ast.Comment {
	if cg == nil {
		return nil
	}
	var out []*ast.Comment
	for _, c := range cg.List {
		if strings.HasPrefix(c.Text, directivePrefix) {
			out = append(out, c)
		}
	}
	return out
}

// buildConstraint is the //go:build line of f, or "" when it has none.
func buildConstraint(f *ast.File) string {
	for _, cg := range f.Comments {
		if cg.Pos() > f.Package {
			break
		}
		for _, c := range cg.List {
			if constraint.IsGoBuild(c.Text) {
				return strings.TrimSpace(c.Text)
			}
		}
	}
	return ""
}

// typeSpec looks at one type declaration and records it as a candidate
// when it is a struct with a directive or a cache tag.
func (a *analyzer) typeSpec(ts *ast.TypeSpec, dirs []*ast.Comment, source string) {
	obj, _ := a.pkg.TypesInfo.Defs[ts.Name].(*types.TypeName)
	if obj == nil {
		return
	}
	pos := a.position(ts.Name.Pos())
	_, isStruct := ts.Type.(*ast.StructType)
	if !isStruct || ts.Assign.IsValid() {
		for _, c := range dirs {
			a.errorf(a.position(c.Slash), "the directive goes on a struct type with a cache:\"pk\" field",
				"//cachegen: directive on %s, which is not a struct type declaration", ts.Name.Name)
		}
		return
	}
	st, ok := obj.Type().Underlying().(*types.Struct)
	if !ok {
		return
	}
	relevant := len(dirs) > 0
	for i := 0; i < st.NumFields() && !relevant; i++ {
		tag := st.Tag(i)
		pairs, err := parseStructTag(tag)
		for _, p := range pairs {
			if p.Key == "cache" || misspeltCache(p.Key) {
				relevant = true
			}
		}
		if err != nil && cacheKeyRe.MatchString(tag) {
			relevant = true // a malformed tag that seems to hold cache options
		}
	}
	if !relevant {
		return
	}
	if ts.TypeParams != nil && len(ts.TypeParams.List) > 0 {
		a.errorf(pos, "declare a struct type without type parameters",
			"generic type %s cannot be a model", ts.Name.Name)
		return
	}
	c := &candidate{name: ts.Name.Name, source: source, pos: pos, st: st}
	for _, d := range dirs {
		a.directive(c, d)
	}
	a.cands = append(a.cands, c)
	a.byName[c.name] = c
}

// tableNameProblem says what is wrong with a //cachegen:table name, or
// returns "" for a valid one: table or schema.table, each part an
// identifier the statements can quote as it is.
func tableNameProblem(name string) string {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return "more than one dot"
	}
	for i, p := range parts {
		what := "table"
		if i == 0 && len(parts) == 2 {
			what = "schema"
		}
		if p == "" {
			return "empty " + what + " name"
		}
		if !columnRe.MatchString(p) {
			for _, r := range p {
				if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
					return fmt.Sprintf("%q is not allowed in a %s name", r, what)
				}
			}
			return what + " name starts with a digit"
		}
	}
	return ""
}

// directive parses one //cachegen: comment of candidate c. Anything after
// a "//" inside the directive is a comment and ignored.
func (a *analyzer) directive(c *candidate, d *ast.Comment) {
	pos := a.position(d.Slash)
	text := strings.TrimPrefix(d.Text, directivePrefix)
	if i := strings.Index(text, "//"); i >= 0 {
		text = text[:i]
	}
	args := strings.Fields(text)
	verb := ""
	if len(text) > 0 && text[0] != ' ' && text[0] != '\t' && len(args) > 0 {
		verb, args = args[0], args[1:]
	}
	if verb != "table" {
		a.errorf(pos, directiveUsage, "unknown directive //cachegen:%s", verb)
		return
	}
	if c.directive {
		a.errorf(pos, "keep one //cachegen:table directive per type", "repeated //cachegen:table directive on %s", c.name)
		return
	}
	c.directive = true
	c.dirPos = pos
	if len(args) == 0 || strings.Contains(args[0], "=") {
		a.errorf(pos, directiveUsage, "//cachegen:table needs a table name")
		return
	}
	if problem := tableNameProblem(args[0]); problem != "" {
		a.errorf(pos, "name a table as table or schema.table (a PostgreSQL schema, a MySQL database, an attached SQLite database); each part matches ^[A-Za-z_][A-Za-z0-9_]*$",
			"invalid table name %q: %s", args[0], problem)
	} else {
		c.table = args[0]
	}
	sawTTL := false
	for _, arg := range args[1:] {
		val, ok := strings.CutPrefix(arg, "ttl=")
		if !ok {
			a.errorf(pos, directiveUsage, "unknown argument %q in //cachegen:table", arg)
			continue
		}
		if sawTTL {
			a.errorf(pos, directiveUsage, "repeated ttl in //cachegen:table")
			continue
		}
		sawTTL = true
		d, err := time.ParseDuration(val)
		if err != nil {
			a.errorf(pos, "ttl takes a Go duration such as 30s, 10m or 1h", "invalid ttl %q: %v", val, err)
			continue
		}
		if d <= 0 {
			a.errorf(pos, "ttl takes a positive Go duration such as 30s, 10m or 1h; leave it out for the runtime default",
				"ttl must be positive, not %s", val)
			continue
		}
		c.ttl = d
	}
}

// fieldsOf reads and checks the tags of every field of c.
func (a *analyzer) fieldsOf(c *candidate) {
	columns := map[string]*fieldInfo{}
	for i := 0; i < c.st.NumFields(); i++ {
		v := c.st.Field(i)
		fi := &fieldInfo{v: v, name: v.Name(), pos: a.position(v.Pos())}
		pairs, err := parseStructTag(c.st.Tag(i))
		if err != nil {
			c.malformed = true
			a.errorf(fi.pos, "a struct tag is a list of key:\"value\" pairs separated by spaces, e.g. `db:\"id\" cache:\"pk\"`",
				"field %s: malformed struct tag: %v", fi.name, err)
			continue
		}
		var dbVal, cacheVal string
		var hasDB, hasCache bool
		for _, p := range pairs {
			switch p.Key {
			case "db", "cache":
				if (p.Key == "db" && hasDB) || (p.Key == "cache" && hasCache) {
					a.errorf(fi.pos, "give each key once; separate cache options with commas",
						"field %s: repeated %s key in struct tag", fi.name, p.Key)
					continue
				}
				if p.Key == "db" {
					dbVal, hasDB = p.Value, true
				} else {
					cacheVal, hasCache = p.Value, true
				}
			}
		}
		for _, p := range pairs {
			if hasDB && misspeltCache(p.Key) {
				c.malformed = true // the pk may hide behind the typo
				a.errorf(fi.pos, "the key is cache, e.g. cache:\"unique\"; with another key the options are ignored",
					"field %s: struct tag key %q next to a db tag looks like a misspelt cache", fi.name, p.Key)
			}
		}
		if v.Embedded() {
			a.errorf(fi.pos, "embedding is not supported; list the fields", "field %s: embedded field in model %s", fi.name, c.name)
			continue
		}
		if !v.Exported() {
			if hasDB || hasCache {
				a.errorf(fi.pos, "export the field (cachegen reads and writes exported fields only), or remove its tags",
					"field %s: unexported field with a db or cache tag", fi.name)
			}
			continue
		}
		if hasCache {
			a.cacheOptions(fi, cacheVal)
		}
		c.fields = append(c.fields, fi)
		if !hasDB {
			a.errorf(fi.pos, "add db:\"column\", or db:\"-\" for a related object that is never read, written or cached",
				"field %s: missing db tag", fi.name)
			continue
		}
		col, _, hasOpts := strings.Cut(dbVal, ",")
		if hasOpts {
			a.errorf(fi.pos, "the db tag is the column name alone, e.g. db:\""+col+"\"",
				"field %s: db tag %q has options, which cachegen does not support", fi.name, dbVal)
		}
		switch {
		case col == "-":
			fi.related = true
			if hasCache {
				a.errorf(fi.pos, "a related object is never cached: remove the cache tag, or give the field a column",
					"field %s: a db:\"-\" field cannot have cache options", fi.name)
			}
			continue
		case col == "":
			a.errorf(fi.pos, "give the column name, e.g. db:\"name\", or db:\"-\" for a related object",
				"field %s: empty db tag", fi.name)
			continue
		case !columnRe.MatchString(col):
			a.errorf(fi.pos, "a column name matches ^[A-Za-z_][A-Za-z0-9_]*$",
				"field %s: invalid column name %q", fi.name, col)
		}
		if prev, dup := columns[strings.ToLower(col)]; dup {
			a.errorf(fi.pos, "column names must be unique in a model (case-insensitive)",
				"field %s: column %q is already used by field %s", fi.name, col, prev.name)
		} else {
			columns[strings.ToLower(col)] = fi
		}
		fi.column = col
		codec, err := codecFor(v.Type())
		if err != nil {
			a.errorf(fi.pos, supportedTypesHint, "field %s: type %s cannot be cached: %v",
				fi.name, types.TypeString(v.Type(), a.qualifier), err)
		}
		fi.codec = codec
	}
}

// cacheOptions parses the cache tag of one field.
func (a *analyzer) cacheOptions(fi *fieldInfo, tag string) {
	for _, raw := range strings.Split(tag, ",") {
		opt := strings.TrimSpace(raw)
		name, val, hasVal := strings.Cut(opt, "=")
		switch {
		case opt == "":
			a.errorf(fi.pos, optionsHint, "field %s: empty cache option in %q", fi.name, tag)
		case opt == "pk" || opt == "manual" || opt == "unique":
			flag := map[string]*bool{"pk": &fi.pk, "manual": &fi.manual, "unique": &fi.unique}[opt]
			if *flag {
				a.errorf(fi.pos, optionsHint, "field %s: repeated cache option %q", fi.name, opt)
			}
			*flag = true
		case name == "unique_together" && (!hasVal || val == ""):
			a.errorf(fi.pos, optionsHint, "field %s: unique_together needs a group name: unique_together=GROUP", fi.name)
		case name == "unique_together":
			switch {
			case !groupRe.MatchString(val):
				a.errorf(fi.pos, "a group name matches ^[a-z][a-z0-9_]*$",
					"field %s: invalid unique_together group name %q", fi.name, val)
			case contains(fi.groups, val):
				a.errorf(fi.pos, "name each group once per field",
					"field %s: appears twice in unique_together group %q", fi.name, val)
			default:
				fi.groups = append(fi.groups, val)
			}
		case name == "fk" && (!hasVal || val == ""):
			a.errorf(fi.pos, fkHint, "field %s: fk needs a model name: fk=Model", fi.name)
		case name == "fk":
			if fi.fk != "" {
				a.errorf(fi.pos, "a field references one model", "field %s: repeated fk option", fi.name)
				continue
			}
			fi.fk = val
		case name == "reverse":
			if fi.reverseAsked {
				a.errorf(fi.pos, optionsHint, "field %s: repeated cache option reverse", fi.name)
			}
			fi.reverseAsked, fi.reverse = true, val
			if hasVal && val == "" {
				a.errorf(fi.pos, reverseHint, "field %s: reverse= needs a name, or no =", fi.name)
			}
		default:
			a.errorf(fi.pos, optionsHint, "field %s: unknown cache option %q", fi.name, opt)
		}
	}
	if fi.manual && !fi.pk {
		a.errorf(fi.pos, "manual says the application assigns the primary key: use cache:\"pk,manual\" on the pk field",
			"field %s: manual without pk", fi.name)
	}
	if fi.pk && (fi.unique || len(fi.groups) > 0) {
		a.errorf(fi.pos, "remove unique and unique_together from the pk field",
			"field %s: the primary key is already unique", fi.name)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkPK finds the primary key of c: a model has exactly one.
func (a *analyzer) checkPK(c *candidate) {
	for _, fi := range c.fields {
		if !fi.pk {
			continue
		}
		if c.pk != nil {
			a.errorf(fi.pos, "a model has exactly one cache:\"pk\" field; use unique or unique_together for other keys",
				"field %s: second primary key in %s (the first is %s)", fi.name, c.name, c.pk.name)
			continue
		}
		c.pk = fi
	}
	if c.pk == nil {
		if c.malformed {
			return // the pk may be in the tag we could not read
		}
		if c.directive {
			a.errorf(c.pos, pkHint, "struct %s has a //cachegen:table directive but no cache:\"pk\" field", c.name)
		} else {
			a.errorf(c.pos, pkHint, "struct %s has cache tags but no cache:\"pk\" field", c.name)
		}
		return
	}
	if k := c.pk.codec; k != nil && (k.Kind == CodecPointer || k.Kind == CodecNull) {
		a.errorf(c.pk.pos, "a primary key is never NULL: use the plain type",
			"field %s: the primary key cannot be a pointer or Null type (%s)", c.pk.name,
			types.TypeString(c.pk.v.Type(), a.qualifier))
	}
	if c.table == "" && !c.directive {
		c.table = defaultTable(c.name)
		if !tableRe.MatchString(c.table) {
			a.errorf(c.pos, "name the table with //cachegen:table NAME",
				"the default table name %q of %s is not a valid table name", c.table, c.name)
			c.table = ""
		}
	}
	c.model = &Model{Name: c.name, Table: c.table, TTL: c.ttl, Pos: c.pos}
	a.models = append(a.models, c)
}

// buildModel fills c.model: fields, foreign keys, unique indexes, schema.
func (a *analyzer) buildModel(c *candidate) {
	m := c.model
	for _, fi := range c.fields {
		if fi.related {
			m.Related = append(m.Related, &Related{Name: fi.name, Type: fi.v.Type(), Pos: fi.pos})
			continue
		}
		if fi.column == "" {
			continue
		}
		fi.field = &Field{Name: fi.name, Column: fi.column, Type: fi.v.Type(), Codec: fi.codec, Pos: fi.pos}
		m.Fields = append(m.Fields, fi.field)
	}
	if pk := c.pk; pk.field != nil {
		m.PK = pk.field
		m.PKIndex = &Index{Name: pk.field.Column, Fields: []*Field{pk.field}, Method: "GetBy" + pk.field.Name, Pos: pk.field.Pos}
		m.AutoPK = !pk.manual && pk.codec != nil && (pk.codec.Kind == CodecInt || pk.codec.Kind == CodecUint)
	}

	for _, fi := range c.fields {
		if fi.fk != "" && fi.field != nil {
			a.foreignKey(fi)
		}
	}
	a.uniques(c)
	m.Schema = schemaHash(m.Table, m.Fields)
}

// uniques builds the unique indexes of c and checks groups, index names
// and getter names.
func (a *analyzer) uniques(c *candidate) {
	m := c.model
	groups := map[string][]*fieldInfo{}
	for _, fi := range c.fields {
		if fi.column == "" {
			continue
		}
		for _, g := range fi.groups {
			groups[g] = append(groups[g], fi)
		}
	}

	indexNames := map[string]string{} // lower-case index name -> what uses it
	methods := map[string]string{}    // getter -> what it reads by
	if m.PK != nil {
		indexNames[strings.ToLower(m.PK.Column)] = "the primary key column " + m.PK.Column
		methods[m.PKIndex.Method] = "the primary key " + m.PK.Name
	}
	for _, fi := range c.fields {
		if fi.unique && fi.field != nil {
			indexNames[strings.ToLower(fi.column)] = "the unique column " + fi.column
		}
	}

	seenSets := map[string]string{} // sorted field names -> group
	add := func(ix *Index, what string) {
		if prev, ok := methods[ix.Method]; ok {
			a.errorf(ix.Pos, "rename a field or regroup so that every getter has its own name",
				"getter %s of %s collides with the getter of %s", ix.Method, what, prev)
			return
		}
		methods[ix.Method] = what
		m.Uniques = append(m.Uniques, ix)
	}
	for _, fi := range c.fields {
		if fi.field == nil {
			continue
		}
		if fi.unique && !fi.pk { // a unique pk is reported already
			add(&Index{Name: fi.column, Fields: []*Field{fi.field}, Method: "GetBy" + fi.name, Pos: fi.pos},
				"unique field "+fi.name)
		}
		for _, g := range fi.groups {
			members := groups[g]
			if members[0] != fi {
				continue // the group starts at an earlier field
			}
			if hasPK(members) {
				continue // reported already: the primary key is already unique
			}
			if len(members) == 1 {
				msg := "unique_together group %q has only one field (%s)"
				if fi.unique {
					msg += "; the field is already unique"
				}
				a.errorf(fi.pos, "a single unique field is cache:\"unique\"; a group has two fields or more", msg, g, fi.name)
				continue
			}
			names := make([]string, len(members))
			for i, mf := range members {
				names[i] = mf.name
			}
			sorted := append([]string(nil), names...)
			sort.Strings(sorted)
			set := strings.Join(sorted, ",")
			if prev, ok := seenSets[set]; ok {
				a.errorf(fi.pos, "remove one of the groups", "unique_together group %q has the same fields as group %q", g, prev)
				continue
			}
			seenSets[set] = g
			if prev, ok := indexNames[g]; ok {
				a.errorf(fi.pos, "rename the group: index names appear in cache keys and must be distinct",
					"unique_together group name %q is also the index name of %s", g, prev)
				continue
			}
			indexNames[g] = "unique_together group " + g
			ix := &Index{Name: g, Method: "GetBy" + strings.Join(names, ""), Pos: fi.pos}
			for _, mf := range members {
				if mf.field == nil {
					ix = nil
					break
				}
				ix.Fields = append(ix.Fields, mf.field)
			}
			if ix != nil {
				add(ix, "unique_together group "+g)
			}
		}
	}
}

// result is the Package of the analysed package, or nil when it declares
// no model.
func (a *analyzer) result() *Package {
	if len(a.models) == 0 {
		return nil
	}
	p := &Package{Name: a.pkg.Name, Path: a.pkg.PkgPath, Dir: a.pkg.Dir, Ignored: a.pkg.IgnoredFiles}
	files := map[string]*File{}
	for _, c := range a.models {
		f := files[c.source]
		if f == nil {
			f = &File{Source: c.source, Output: outputPath(c.source), Constraint: a.constraints[c.source]}
			files[c.source] = f
			p.Files = append(p.Files, f)
		}
		f.Models = append(f.Models, c.model)
	}
	sort.Slice(p.Files, func(i, j int) bool { return p.Files[i].Source < p.Files[j].Source })
	if p.Dir == "" {
		p.Dir = filepath.Dir(p.Files[0].Source)
	}
	return p
}

func hasPK(fields []*fieldInfo) bool {
	for _, f := range fields {
		if f.pk {
			return true
		}
	}
	return false
}

// misspeltCache reports whether a struct tag key is one or two edits
// (an insertion, a deletion, a substitution or two swapped letters) away
// from cache: chache, cahce, cach, cached.
func misspeltCache(key string) bool {
	key = strings.ToLower(key)
	return key != "cache" && len(key) >= 3 && editDistance(key, "cache") <= 2
}

// editDistance is the optimal string alignment distance between a and b.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
