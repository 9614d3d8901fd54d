package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Model is what a model's tags say its table looks like.
type Model struct {
	Name    string // Go type name, for messages ("" when unknown)
	Table   string // as the tags name it: "users" or "schema.users"
	Columns []ModelColumn
	PK      string // the pk column
	AutoPK  bool   // the database must generate the pk
	Uniques []Unique
}

// ModelColumn is one column of a model.
type ModelColumn struct {
	Name  string
	Field string // Go field name ("" when unknown)
	Type  GoType
}

// Unique is a unique or unique_together tag: the columns it says name at
// most one row.
type Unique struct {
	Name    string // the unique column, or the unique_together group
	Columns []string
}

// Problem is one way a table differs from its model. Every problem names
// the table and, when it is about one, the column; Fix is the DDL (or the
// model change) that would resolve it.
type Problem struct {
	Table  string // as the model names it
	Column string // "" for a problem of the whole table
	Msg    string
	Fix    string
}

func (p Problem) String() string {
	where := p.Table
	if p.Column != "" {
		where += "." + p.Column
	}
	s := where + ": " + p.Msg
	if p.Fix != "" {
		s += "\n\tfix: " + p.Fix
	}
	return s
}

// KeyColumn is a text column a cached lookup compares: the pk, a unique
// column, a unique_together member.
type KeyColumn struct {
	Table, Column string
	Type          string // the column's database type
	// Collation is the collation the database compares the column under
	// ("" when its type has none).
	Collation string
	// Exact reports that the database finds a row exactly when the lookup's
	// bytes are the column's (see Comparison): only then are confirmed
	// misses of the index cached. Loose says why not, when it is not.
	Exact bool
	Loose string
}

// Report is the outcome of a check: every problem found, in model order,
// and the text key columns with their collations.
type Report struct {
	Problems []Problem
	Keys     []KeyColumn
}

// Err returns nil when there are no problems, otherwise an error listing
// them all.
func (r *Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return Problems(r.Problems)
}

// Problems is the error of a failed check: every problem, one per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d schema problem(s):\n%s", len(ps), strings.Join(lines, "\n"))
}

// Verify compares each model with its table in the database q is
// connected to. Problems are reported, not returned as an error: the error
// is for a catalog that could not be read.
func Verify(ctx context.Context, q Querier, d Dialect, models ...*Model) (*Report, error) {
	r := &Report{}
	for _, m := range models {
		schema, name := SplitName(m.Table)
		t, err := ReadTable(ctx, q, d, schema, name)
		if err != nil {
			return nil, err
		}
		v := &verifier{d: d, m: m, t: t, r: r, schema: schema, name: name}
		v.run()
		for _, col := range v.textKeys() {
			k := KeyColumn{Table: m.Table, Column: col.Name, Type: col.Type}
			c, err := keyComparison(ctx, q, d, t, col.Name)
			if err != nil {
				return nil, err
			}
			k.Collation, k.Exact, k.Loose = c.Collation, c.Exact, c.Loose
			r.Keys = append(r.Keys, k)
		}
	}
	return r, nil
}

// keyComparison returns how the database compares column of t with a
// lookup value: its collation, and whether that is exact.
func keyComparison(ctx context.Context, q Querier, d Dialect, t *Table, column string) (Comparison, error) {
	cs, err := Comparisons(ctx, q, d.String(), t.Schema, t.Name)
	if err != nil {
		return Comparison{}, err
	}
	c, _ := Find(cs, column)
	return c, nil
}

type verifier struct {
	d            Dialect
	m            *Model
	t            *Table // nil: missing
	r            *Report
	schema, name string
}

func (v *verifier) report(column, msg, fix string) {
	v.r.Problems = append(v.r.Problems, Problem{Table: v.m.Table, Column: column, Msg: msg, Fix: fix})
}

func (v *verifier) run() {
	if v.t == nil {
		where := "the current schema"
		if v.schema != "" {
			where = "schema " + v.schema
		}
		v.report("", "table does not exist in "+where, v.createTable())
		return
	}
	for _, c := range v.m.Columns {
		v.column(c)
	}
	v.primaryKey()
	for _, u := range v.m.Uniques {
		v.unique(u)
	}
}

func (v *verifier) column(mc ModelColumn) {
	c := v.t.Column(mc.Name)
	if c == nil {
		v.report(mc.Name, "column does not exist", "ALTER TABLE "+v.table()+" ADD COLUMN "+v.addColumn(mc))
		return
	}
	ct := classify(v.d, c.Type)
	if ok, why := fits(v.d, mc.Type.Kind, ct); !ok {
		v.report(mc.Name, fmt.Sprintf("column is %s, %s cannot hold it: %s", c.Type, v.field(mc), why), v.retype(mc, c, ct))
	}
	if !c.NotNull && !mc.Type.Nullable && mc.Type.Kind != Other {
		v.report(mc.Name, fmt.Sprintf("column is nullable, %s is not: scanning a NULL fails", v.field(mc)), v.setNotNull(mc, c))
	}
}

func (v *verifier) field(mc ModelColumn) string {
	if mc.Field != "" {
		return "field " + mc.Field + " (" + mc.Type.String() + ")"
	}
	return "Go type " + mc.Type.String()
}

func (v *verifier) primaryKey() {
	pk := v.m.PK
	have := v.t.PrimaryKey
	switch {
	case len(have) == 0:
		v.report(pk, "table has no primary key; the pk tag names "+pk, v.setPrimaryKey(""))
	case len(have) != 1 || have[0] != pk:
		v.report(pk, fmt.Sprintf("primary key is (%s), the pk tag names (%s)", strings.Join(have, ", "), pk), v.setPrimaryKey(v.t.PrimaryKeyName))
	}
	if c := v.t.Column(pk); c != nil && v.m.AutoPK && !c.Generated {
		v.report(pk, "the pk is generated by the database (no manual option) but the column has no "+v.autoName(), v.autoFix(c))
	}
}

func (v *verifier) autoName() string {
	switch v.d {
	case Postgres:
		return "identity or serial default"
	case MySQL:
		return "AUTO_INCREMENT"
	}
	return "INTEGER PRIMARY KEY (rowid) declaration"
}

// unique checks that a unique constraint or index covers exactly u's
// columns, whole and on every row.
func (v *verifier) unique(u Unique) {
	want := slices.Clone(u.Columns)
	slices.Sort(want)
	same := func(cols []string) bool {
		got := slices.Clone(cols)
		slices.Sort(got)
		return slices.Equal(got, want)
	}
	if same(v.t.PrimaryKey) {
		return
	}
	var near []string // indexes on these columns that do not count, and why
	for _, ix := range v.t.Indexes {
		switch {
		case ix.Unique && !ix.Partial && !ix.Expression && same(ix.Columns):
			return
		case !ix.Unique && same(ix.Columns):
			near = append(near, fmt.Sprintf("index %s on (%s) is not unique", ix.Name, strings.Join(ix.Columns, ", ")))
		case ix.Unique && ix.Partial && same(ix.Columns):
			near = append(near, fmt.Sprintf("unique index %s is partial (it holds only some rows)", ix.Name))
		case ix.Unique && ix.Expression && (overlaps(ix.Columns, u.Columns) || containsAll(u.Columns, plain(ix.Columns))):
			near = append(near, fmt.Sprintf("unique index %s is on an expression or a column prefix", ix.Name))
		case ix.Unique && containsAll(ix.Columns, u.Columns):
			near = append(near, fmt.Sprintf("unique index %s is on (%s), more columns than the tag", ix.Name, strings.Join(ix.Columns, ", ")))
		case ix.Unique && overlaps(ix.Columns, u.Columns):
			near = append(near, fmt.Sprintf("unique index %s is on other columns (%s)", ix.Name, strings.Join(ix.Columns, ", ")))
		}
	}
	tag := "unique"
	column := u.Columns[0]
	if len(u.Columns) > 1 || u.Name != u.Columns[0] {
		tag = "unique_together=" + u.Name
		column = strings.Join(u.Columns, ", ")
	}
	msg := fmt.Sprintf("%s tag has no unique constraint or index on exactly (%s): a lookup may match several rows and return any of them",
		tag, strings.Join(u.Columns, ", "))
	if len(near) > 0 {
		msg += "; " + strings.Join(near, "; ")
	}
	v.report(column, msg, v.createUnique(u))
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// plain drops the expression parts ("") of an index's columns.
func plain(cols []string) []string {
	return slices.DeleteFunc(slices.Clone(cols), func(c string) bool { return c == "" })
}

func overlaps(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// textKeys returns the table's text columns that some lookup of m compares.
func (v *verifier) textKeys() []Column {
	if v.t == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []Column
	add := func(name string) {
		c := v.t.Column(name)
		if c == nil || seen[name] {
			return
		}
		seen[name] = true
		if classify(v.d, c.Type).fam == famText {
			out = append(out, *c)
		}
	}
	add(v.m.PK)
	for _, u := range v.m.Uniques {
		for _, c := range u.Columns {
			add(c)
		}
	}
	return out
}
