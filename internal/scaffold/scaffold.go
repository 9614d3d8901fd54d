// Package scaffold writes tagged model source from what a database's
// catalog says of its tables: the source of cachegen init. It chooses the
// Go names and types and the tags; reading the catalog is package
// catalog's job.
package scaffold

import (
	"bytes"
	"fmt"
	"go/format"
	"sort"
	"strconv"
	"strings"

	"github.com/cachegen/cachegen/internal/catalog"
)

// Table is one table to write a model for.
type Table struct {
	// Name is how the model's directive names the table: "users", or
	// "shop.products" when it was asked for with its schema.
	Name        string
	Catalog     *catalog.Table
	ForeignKeys []catalog.ForeignKey
}

// Options says what to write.
type Options struct {
	Dialect catalog.Dialect
	Package string // the package clause
	// Source names the database in each file's header ("postgres
	// 127.0.0.1:5432/test"); it must carry no password.
	Source string
}

// File is one written file: a table's model.
type File struct {
	Name   string // base name: users.go
	Table  string // the directive's table name
	Model  string // the model's type name
	Source []byte // gofmt'ed
}

// model is a table on its way to source.
type model struct {
	t      Table
	name   string
	fields []*field
	pk     *field
}

type field struct {
	col      catalog.Column
	name     string
	goType   string
	kind     catalog.Kind
	nullable bool
	note     string   // a comment on the field
	opts     []string // cache tag options
	target   *model   // the model an fk tag names
}

// Build turns tables into one file per table. A table cachegen cannot map
// (no single-column primary key, a name the generator does not take) is
// left out with a warning, as are foreign keys it cannot tag.
func Build(tables []Table, o Options) (files []File, warnings []string, err error) {
	warn := func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
	var models []*model
	byTable := map[[2]string]*model{}
	typeNames := map[string]bool{"Repos": true, "NewRepos": true}
	for _, t := range tables {
		m, why := newModel(t, o.Dialect)
		if m == nil {
			warn("table %s left out: %s", t.Name, why)
			continue
		}
		models = append(models, m)
		byTable[[2]string{t.Catalog.Schema, t.Catalog.Name}] = m
	}
	// Model names, and the names the generator derives from them, must not
	// meet: a table user_repos would otherwise give UserRepo twice.
	for _, m := range models {
		base := goName(singular(tableOnly(m.t.Name)))
		for typeNames[base] || typeNames[base+"Repo"] || typeNames["New"+base+"Repo"] {
			base += "Row"
		}
		m.name = uniqueName(base, typeNames)
		typeNames[m.name+"Repo"], typeNames["New"+m.name+"Repo"] = true, true
	}
	for _, m := range models {
		m.uniques()
		for _, fk := range m.t.ForeignKeys {
			if why := m.foreignKey(fk, byTable); why != "" {
				warn("table %s: foreign key %s (%s) not tagged: %s", m.t.Name, fkName(fk), strings.Join(fk.Columns, ", "), why)
			}
		}
	}
	for _, cut := range breakCycles(models) {
		warn("table %s: fk tag of %s left out: NOT NULL foreign keys in a cycle (no row of it could be inserted first)", cut.m.t.Name, cut.f.col.Name)
	}
	fileNames := map[string]bool{}
	for _, m := range models {
		name := fileName(m.t.Name)
		for i := 2; fileNames[name]; i++ {
			name = strings.TrimSuffix(fileName(m.t.Name), ".go") + "_" + strconv.Itoa(i) + ".go"
		}
		fileNames[name] = true
		for _, f := range m.fields {
			if f.note != "" && strings.Contains(f.note, "no Go type") {
				warn("table %s: column %s: %s", m.t.Name, f.col.Name, f.note)
			}
		}
		src, err := m.source(o)
		if err != nil {
			return nil, warnings, err
		}
		files = append(files, File{Name: name, Table: m.t.Name, Model: m.name, Source: src})
	}
	return files, warnings, nil
}

func tableOnly(name string) string {
	_, t := catalog.SplitName(name)
	return t
}

func fkName(fk catalog.ForeignKey) string {
	if fk.Name == "" {
		return "to " + fk.RefTable
	}
	return fk.Name
}

// newModel maps a table's columns, or says why it cannot.
func newModel(t Table, d catalog.Dialect) (*model, string) {
	for _, part := range strings.Split(t.Name, ".") {
		if !columnRe.MatchString(part) {
			return nil, fmt.Sprintf("cachegen takes table names of [A-Za-z_][A-Za-z0-9_]*, not %q", part)
		}
	}
	ct := t.Catalog
	if len(ct.PrimaryKey) != 1 {
		if len(ct.PrimaryKey) == 0 {
			return nil, "no primary key (a model needs a one-column primary key)"
		}
		return nil, fmt.Sprintf("a primary key of %d columns (a model needs a one-column primary key)", len(ct.PrimaryKey))
	}
	m := &model{t: t}
	names := map[string]bool{}
	for _, c := range ct.Columns {
		if !columnRe.MatchString(c.Name) {
			return nil, fmt.Sprintf("cachegen takes column names of [A-Za-z_][A-Za-z0-9_]*, not %q", c.Name)
		}
		f := &field{col: c, name: uniqueName(goName(c.Name), names)}
		f.setType(d, c.Name == ct.PrimaryKey[0])
		if c.Name == ct.PrimaryKey[0] {
			m.pk = f
			f.opts = append(f.opts, "pk")
			if isInt(f.kind) && !c.Generated {
				f.opts[0] = "pk,manual" // the database does not assign it
			}
		}
		m.fields = append(m.fields, f)
	}
	return m, ""
}

func isInt(k catalog.Kind) bool {
	return k >= catalog.Int8 && k <= catalog.Uint64
}

// setType picks the field's Go type. Nullable columns are pointers, but
// for byte slices, whose nil database/sql already reads and writes as NULL.
func (f *field) setType(d catalog.Dialect, pk bool) {
	k, json, ok := catalog.Suggest(d, f.col.Type)
	f.kind = k
	switch k {
	case catalog.Time:
		f.goType = "time.Time"
	case catalog.Bytes:
		f.goType = "[]byte"
		if json {
			f.goType = "json.RawMessage"
		}
	default:
		f.goType = k.String()
	}
	if !ok {
		typ := f.col.Type
		if typ == "" {
			typ = "no declared type"
		}
		f.note = fmt.Sprintf("%s: no Go type of the tag reference holds it; read as its text form", typ)
	}
	f.nullable = !f.col.NotNull && !pk
	if f.nullable && k != catalog.Bytes {
		f.goType = "*" + f.goType
	}
}

// uniques tags the columns of every unique constraint and unique index the
// generator can use: whole columns, no WHERE, not the primary key's own.
func (m *model) uniques() {
	seen := map[string]bool{}
	groups := map[string]bool{}
	for _, f := range m.fields {
		groups[strings.ToLower(f.col.Name)] = true // index names share the key space
	}
	ixs := append([]catalog.Index(nil), m.t.Catalog.Indexes...)
	sort.SliceStable(ixs, func(i, j int) bool { return len(ixs[i].Columns) < len(ixs[j].Columns) })
	for _, ix := range ixs {
		if !ix.Unique || ix.Partial || ix.Expression || len(ix.Columns) == 0 {
			continue
		}
		fs := make([]*field, 0, len(ix.Columns))
		for _, c := range ix.Columns {
			if f := m.field(c); f != nil {
				fs = append(fs, f)
			}
		}
		if len(fs) != len(ix.Columns) || hasField(fs, m.pk) {
			continue // the pk is unique already
		}
		cols := make([]string, len(fs))
		for i, f := range fs {
			cols[i] = f.col.Name
		}
		sort.Strings(cols)
		set := strings.Join(cols, "\x00")
		if seen[set] {
			continue
		}
		seen[set] = true
		if len(fs) == 1 {
			fs[0].opts = append(fs[0].opts, "unique")
			continue
		}
		g := groupName(ix.Columns)
		for i := 2; groups[g]; i++ {
			g = groupName(ix.Columns) + "_" + strconv.Itoa(i)
		}
		groups[g] = true
		for _, f := range fs {
			f.opts = append(f.opts, "unique_together="+g)
		}
	}
}

func hasField(fs []*field, f *field) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

func (m *model) field(col string) *field {
	for _, f := range m.fields {
		if f.col.Name == col {
			return f
		}
	}
	return nil
}

// foreignKey tags a one-column foreign key to the primary key of another
// selected table, or says why not.
func (m *model) foreignKey(fk catalog.ForeignKey, byTable map[[2]string]*model) string {
	if len(fk.Columns) != 1 {
		return "a model's fk is one column"
	}
	target := byTable[[2]string{fk.RefSchema, fk.RefTable}]
	if target == nil {
		return "references " + fk.RefTable + ", which is not among the tables written"
	}
	if len(fk.RefColumns) == 1 && fk.RefColumns[0] != target.pk.col.Name {
		return "references " + fk.RefColumns[0] + ", not the primary key of " + fk.RefTable
	}
	f := m.field(fk.Columns[0])
	if !fkFits(f.kind, target.pk.kind) {
		return fmt.Sprintf("its type %s cannot hold the primary key of %s (%s)", f.kind, fk.RefTable, target.pk.kind)
	}
	for _, o := range f.opts {
		if strings.HasPrefix(o, "fk=") {
			return "the column has a foreign key already"
		}
	}
	f.opts = append(f.opts, "fk="+target.name)
	f.target = target
	return ""
}

// fkFits is the generator's rule: the target's pk type, or a narrower
// integer of the same sign.
func fkFits(k, pk catalog.Kind) bool {
	if k == pk {
		return true
	}
	signed := func(k catalog.Kind) bool { return k >= catalog.Int8 && k <= catalog.Int64 }
	unsigned := func(k catalog.Kind) bool { return k >= catalog.Uint8 && k <= catalog.Uint64 }
	return signed(k) && signed(pk) && k < pk || unsigned(k) && unsigned(pk) && k < pk
}

type cut struct {
	m *model
	f *field
}

// breakCycles drops the fk tags that close a cycle of NOT NULL foreign
// keys, which the generator refuses.
func breakCycles(models []*model) []cut {
	var cuts []cut
	state := map[*model]int{} // 0 unseen, 1 on the path, 2 done
	var visit func(m *model)
	visit = func(m *model) {
		state[m] = 1
		for _, f := range m.fields {
			if f.target == nil || f.nullable {
				continue
			}
			switch state[f.target] {
			case 1:
				f.dropFK()
				cuts = append(cuts, cut{m, f})
			case 0:
				visit(f.target)
			}
		}
		state[m] = 2
	}
	for _, m := range models {
		if state[m] == 0 {
			visit(m)
		}
	}
	return cuts
}

func (f *field) dropFK() {
	f.target = nil
	kept := f.opts[:0]
	for _, o := range f.opts {
		if !strings.HasPrefix(o, "fk=") {
			kept = append(kept, o)
		}
	}
	f.opts = kept
}

// source renders the model's file.
func (m *model) source(o Options) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Written by cachegen init from the %s database %s, table %s.\n", o.Dialect, o.Source, m.t.Name)
	b.WriteString("// Edit it as you like: cachegen init does not overwrite it unless run with -force.\n\n")
	fmt.Fprintf(&b, "package %s\n\n", o.Package)
	imports := map[string]bool{}
	for _, f := range m.fields {
		if strings.Contains(f.goType, "time.") {
			imports["time"] = true
		}
		if strings.Contains(f.goType, "json.") {
			imports["encoding/json"] = true
		}
	}
	if len(imports) == 1 {
		fmt.Fprintf(&b, "import %q\n\n", sortedKeys(imports)[0])
	} else if len(imports) > 1 {
		b.WriteString("import (\n")
		for _, p := range sortedKeys(imports) {
			fmt.Fprintf(&b, "\t%q\n", p)
		}
		b.WriteString(")\n\n")
	}
	fmt.Fprintf(&b, "// %s is a row of %s.\n//\n//cachegen:table %s\n", m.name, m.t.Name, m.t.Name)
	fmt.Fprintf(&b, "type %s struct {\n", m.name)
	for _, f := range m.fields {
		tag := fmt.Sprintf("db:%q", f.col.Name)
		if len(f.opts) > 0 {
			tag += fmt.Sprintf(" cache:%q", strings.Join(f.opts, ","))
		}
		fmt.Fprintf(&b, "\t%s %s `%s`", f.name, f.goType, tag)
		if f.note != "" {
			fmt.Fprintf(&b, " // %s", f.note)
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("scaffold: the model of %s does not parse: %w", m.t.Name, err)
	}
	return src, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Package returns the file that holds the package's go:generate
// directive.
func Package(o Options) (File, error) {
	src := fmt.Sprintf(`// Package %[1]s holds models written by cachegen init from the %[2]s database
// %[3]s. go generate writes their cached repositories beside them.
package %[1]s

//go:generate go tool cachegen
`, o.Package, o.Dialect, o.Source)
	out, err := format.Source([]byte(src))
	if err != nil {
		return File{}, fmt.Errorf("scaffold: the package file does not parse: %w", err)
	}
	return File{Name: "generate.go", Source: out}, nil
}
