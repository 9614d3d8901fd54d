package gen

import (
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cdesc describes a codec compactly: "int", "named int", "pointer(time)",
// "null String(string)", "bytearray[16]".
func cdesc(c *Codec) string {
	if c == nil {
		return "<nil>"
	}
	s := c.Kind.String()
	if c.Named {
		s = "named " + s
	}
	if c.Kind == CodecByteArray {
		s += fmt.Sprintf("[%d]", c.Len)
	}
	if c.Kind == CodecNull {
		s += " " + c.NullField
	}
	if c.Elem != nil {
		s += "(" + cdesc(c.Elem) + ")"
	}
	return s
}

func loadOK(t *testing.T, dir string, patterns ...string) []*Package {
	t.Helper()
	pkgs, err := Load(dir, patterns...)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	return pkgs
}

func modelsByName(pkgs []*Package) map[string]*Model {
	out := map[string]*Model{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, m := range f.Models {
				out[m.Name] = m
			}
		}
	}
	return out
}

func field(t *testing.T, m *Model, name string) *Field {
	t.Helper()
	for _, f := range m.Fields {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("model %s has no field %s", m.Name, name)
	return nil
}

var hex8 = regexp.MustCompile(`^[0-9a-f]{8}$`)

func TestLoadModels(t *testing.T) {
	dir := mustAbs(t, "testdata/models")
	pkgs := loadOK(t, "testdata/models")
	if len(pkgs) != 1 {
		t.Fatalf("got %d packages, want 1", len(pkgs))
	}
	p := pkgs[0]
	if p.Name != "models" || p.Path != "github.com/cachegen/cachegen/gen/testdata/models" || p.Dir != dir {
		t.Errorf("package = %q %q %q", p.Name, p.Path, p.Dir)
	}

	// Files: sorted by source, the generated file skipped for models.
	var got []string
	for _, f := range p.Files {
		var names []string
		for _, m := range f.Models {
			names = append(names, m.Name)
		}
		got = append(got, fmt.Sprintf("%s>%s:%s", filepath.Base(f.Source), filepath.Base(f.Output), strings.Join(names, ",")))
		if filepath.Dir(f.Source) != dir || filepath.Dir(f.Output) != dir {
			t.Errorf("file %s / %s not in %s", f.Source, f.Output, dir)
		}
	}
	want := []string{
		"models.go>models_cachegen.go:Org,User,OrgMember,Category,Box,HTTPLog,Tie",
		"other.go>other_cachegen.go:Address",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files =\n%q\nwant\n%q", got, want)
	}

	ms := modelsByName(pkgs)
	for _, m := range ms {
		if !hex8.MatchString(m.Schema) {
			t.Errorf("%s: schema %q is not 8 hex digits", m.Name, m.Schema)
		}
		if m.PK == nil || field(t, m, m.PK.Name) != m.PK {
			t.Errorf("%s: PK is not one of Fields", m.Name)
		}
		if m.Pos.Filename == "" || m.Pos.Line == 0 || m.Pos.Column == 0 {
			t.Errorf("%s: bad position %v", m.Name, m.Pos)
		}
	}

	tables := map[string]string{}
	for name, m := range ms {
		tables[name] = fmt.Sprintf("%s ttl=%v auto=%v pk=%s", m.Table, m.TTL, m.AutoPK, m.PK.Name)
	}
	wantTables := map[string]string{
		"Org":       "orgs ttl=10m0s auto=true pk=ID",
		"User":      "users ttl=1h30m0s auto=true pk=ID",
		"OrgMember": "org_members ttl=0s auto=false pk=Key",
		"Category":  "categories ttl=0s auto=false pk=ID",
		"Box":       "boxes ttl=0s auto=false pk=Code",
		"HTTPLog":   "http_logs ttl=0s auto=true pk=ID",
		"Tie":       "ties ttl=0s auto=true pk=ID",
		"Address":   "addresses ttl=0s auto=true pk=ID",
	}
	if !reflect.DeepEqual(tables, wantTables) {
		t.Errorf("models =\n%v\nwant\n%v", tables, wantTables)
	}

	u := ms["User"]
	if u.Pos.Filename != filepath.Join(dir, "models.go") || u.Pos.Line != 49 || u.Pos.Column != 6 {
		t.Errorf("User.Pos = %v", u.Pos)
	}
	var cols []string
	for _, f := range u.Fields {
		cols = append(cols, fmt.Sprintf("%s:%s:%s:%s", f.Name, f.Column, types.TypeString(f.Type, types.RelativeTo(nil)), cdesc(f.Codec)))
		if f.Codec.Type != f.Type {
			t.Errorf("field %s: Codec.Type %v is not the field type %v", f.Name, f.Codec.Type, f.Type)
		}
		if f.Pos.Filename != u.Pos.Filename || f.Pos.Line <= u.Pos.Line || f.Pos.Column != 2 {
			t.Errorf("field %s: bad position %v", f.Name, f.Pos)
		}
	}
	const mp = "github.com/cachegen/cachegen/gen/testdata/models."
	wantCols := []string{
		"ID:id:" + mp + "UserID:named int",
		"Email:email:" + mp + "Email:named string",
		"OrgID:org_id:int64:int",
		"Handle:handle:string:string",
		"Slot:slot:*int32:pointer(int)",
		"Nick:nick:database/sql.NullString:null String(string)",
		"Score:score:database/sql.Null[int64]:null V(int)",
		"Token:token:[16]byte:bytearray[16]",
		"Created:created:time.Time:time",
		"Deleted:deleted:*time.Time:pointer(time)",
		"Avatar:avatar:" + mp + "Raw:named bytes",
		"Data:data:[]byte:bytes",
		"Balance:balance:" + mp + "Money:marshaler",
		"Ratio:ratio:float32:float32",
		"Weight:weight:float64:float64",
		"Active:active:bool:bool",
		"Flags:flags:uint16:uint",
		"ParentID:parent_id:database/sql.NullInt64:null Int64(int)",
	}
	if !reflect.DeepEqual(cols, wantCols) {
		t.Errorf("User fields =\n%s\nwant\n%s", strings.Join(cols, "\n"), strings.Join(wantCols, "\n"))
	}
	if u.PK != u.Fields[0] {
		t.Errorf("User.PK is not Fields[0]")
	}

	var rel []string
	for _, r := range u.Related {
		rel = append(rel, r.Name+":"+types.TypeString(r.Type, types.RelativeTo(nil)))
		if r.Pos.Line == 0 {
			t.Errorf("related %s has no position", r.Name)
		}
	}
	wantRel := []string{"Org:*" + mp + "Org", "Friends:[]*" + mp + "User", "Extra:map[string]string"}
	if !reflect.DeepEqual(rel, wantRel) {
		t.Errorf("User.Related = %q, want %q", rel, wantRel)
	}

	checkUniques(t, u, []string{"email GetByEmail Email", "org_handle GetByOrgIDHandle OrgID,Handle", "org_slot GetByOrgIDSlot OrgID,Slot"})
	checkUniques(t, ms["Tie"], []string{"a GetByA A", "g2 GetByAB A,B", "g1 GetByAC A,C"})
	checkUniques(t, ms["Org"], []string{"name GetByName Name"})
	checkUniques(t, ms["Address"], nil)

	// Foreign keys resolve to the target models, across files and to self.
	fks := map[string]*Model{}
	for _, m := range ms {
		for _, f := range m.Fields {
			if f.FK != nil {
				fks[m.Name+"."+f.Name+"->"+f.FK.Target] = f.FK.Model
			}
		}
	}
	wantFKs := map[string]*Model{
		"User.OrgID->Org":      ms["Org"],
		"User.ParentID->User":  ms["User"],
		"Address.UserID->User": ms["User"],
	}
	if !reflect.DeepEqual(fks, wantFKs) {
		t.Errorf("fks = %v, want %v", fks, wantFKs)
	}
	for k, m := range fks {
		if m != wantFKs[k] {
			t.Errorf("fk %s points to another *Model", k)
		}
	}

	if b := ms["Box"].PK.Codec; b.Kind != CodecByteArray || b.Len != 4 {
		t.Errorf("Box pk codec = %s", cdesc(b))
	}
	if len(ms["HTTPLog"].Uniques) != 0 || len(ms["HTTPLog"].Related) != 0 {
		t.Errorf("HTTPLog has indexes or related objects")
	}
	if _, ok := ms["NotAModel"]; ok {
		t.Errorf("a struct with db tags only became a model")
	}
	if _, ok := ms["Generated"]; ok {
		t.Errorf("a model was taken from a _cachegen.go file")
	}
}

func checkUniques(t *testing.T, m *Model, want []string) {
	t.Helper()
	var got []string
	for _, ix := range m.Uniques {
		var names []string
		for _, f := range ix.Fields {
			names = append(names, f.Name)
			if field(t, m, f.Name) != f {
				t.Errorf("%s index %s: field %s is not one of the model's Fields", m.Name, ix.Name, f.Name)
			}
		}
		got = append(got, fmt.Sprintf("%s %s %s", ix.Name, ix.Method, strings.Join(names, ",")))
		if ix.Pos != ix.Fields[0].Pos {
			t.Errorf("%s index %s: Pos %v is not its first field's", m.Name, ix.Name, ix.Pos)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s uniques = %q, want %q", m.Name, got, want)
	}
}

func TestCodecs(t *testing.T) {
	ms := modelsByName(loadOK(t, "testdata/codecs"))
	thing := ms["Thing"]
	got := map[string]string{}
	for _, f := range thing.Fields {
		got[f.Name] = cdesc(f.Codec)
	}
	want := map[string]string{
		"ID":      "named bytearray[16]",
		"I8":      "int",
		"I16":     "int",
		"I32":     "int",
		"I":       "int",
		"U8":      "uint",
		"U32":     "uint",
		"U64":     "uint",
		"Rune":    "int",
		"Byte":    "uint",
		"Level":   "named int",
		"Big":     "named int",
		"Temp":    "named float64",
		"Flag":    "named bool",
		"Alias":   "int",
		"Word":    "named string",
		"PtrM":    "marshaler",
		"PtrPtrM": "pointer(marshaler)",
		"Stamp":   "marshaler",
		"PLevel":  "pointer(named int)",
		"PBytes":  "pointer(bytes)",
		"NInt32":  "null Int32(int)",
		"NInt16":  "null Int16(int)",
		"NByte":   "null Byte(uint)",
		"NFloat":  "null Float64(float64)",
		"NBool":   "null Bool(bool)",
		"NTime":   "null Time(time)",
		"NGTime":  "null V(time)",
		"NGLevel": "null V(named int)",
	}
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s: codec %s, want %s", k, got[k], want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected field %s", k)
			}
		}
	}
	// Elem types are the types inside: the pointer's element, the Null's value.
	if e := field(t, thing, "PLevel").Codec.Elem; types.TypeString(e.Type, nil) != "github.com/cachegen/cachegen/gen/testdata/codecs.Level" {
		t.Errorf("PLevel elem type = %v", e.Type)
	}
	if e := field(t, thing, "NGLevel").Codec.Elem; types.TypeString(e.Type, nil) != "github.com/cachegen/cachegen/gen/testdata/codecs.Level" {
		t.Errorf("NGLevel elem type = %v", e.Type)
	}
	if e := field(t, thing, "NByte").Codec.Elem; types.TypeString(e.Type, nil) != "byte" {
		t.Errorf("NByte elem type = %v", e.Type)
	}

	// Thing has a manual pk; Keyed a string pk; Counted a manual integer
	// pk; Leveled a defined-integer pk.
	for name, auto := range map[string]bool{"Thing": false, "Keyed": false, "Counted": false, "Leveled": true} {
		if ms[name].AutoPK != auto {
			t.Errorf("%s.AutoPK = %v, want %v", name, ms[name].AutoPK, auto)
		}
	}
	if ms["Keyed"].Table != "keyeds" || ms["Thing"].Table != "things" {
		t.Errorf("tables %q %q", ms["Keyed"].Table, ms["Thing"].Table)
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"User":        "users",
		"OrgMember":   "org_members",
		"Category":    "categories",
		"Box":         "boxes",
		"HTTPLog":     "http_logs",
		"Status":      "statuses",
		"Match":       "matches",
		"Wish":        "wishes",
		"Quiz":        "quizes",
		"Day":         "days",
		"Key":         "keys",
		"UserID":      "user_ids",
		"S3Bucket":    "s3_buckets",
		"APIKey":      "api_keys",
		"ID":          "ids",
		"Address2":    "address2s",
		"OAuthToken":  "o_auth_tokens",
		"XMLHTTPBody": "xmlhttp_bodies",
	} {
		if got := defaultTable(in); got != want {
			t.Errorf("defaultTable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := snakeCase("HTTPLog"); got != "http_log" {
		t.Errorf("snakeCase(HTTPLog) = %q", got)
	}
}

func TestParseStructTag(t *testing.T) {
	valid := []string{
		``,
		`db:"id"`,
		`db:"id" cache:"pk"`,
		`  db:"id"   cache:"pk,manual"  `,
		`db:"a\"b" json:"x,omitempty"`,
		`db:""`,
	}
	for _, tag := range valid {
		pairs, err := parseStructTag(tag)
		if err != nil {
			t.Errorf("parseStructTag(%q): %v", tag, err)
			continue
		}
		for _, p := range pairs {
			if v, ok := reflect.StructTag(tag).Lookup(p.Key); !ok || v != p.Value {
				t.Errorf("parseStructTag(%q): %s=%q, reflect says %q %v", tag, p.Key, p.Value, v, ok)
			}
		}
	}
	for _, tag := range []string{
		`db:id`, `db:"id`, `db`, `db "id"`, `:"x"`, `db:"id"cache:"pk"`, `db:"\z"`, "db:\"a\"\tcache:\"b\"",
	} {
		if _, err := parseStructTag(tag); err == nil {
			t.Errorf("parseStructTag(%q) succeeded, want an error", tag)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	pos := token.Position{Filename: "/x/a.go", Line: 3, Column: 7}
	e := &Error{Pos: pos, Msg: "boom", Hint: "fix it"}
	if got := e.Error(); got != "/x/a.go:3:7: boom\n\thint: fix it" {
		t.Errorf("Error() = %q", got)
	}
	e2 := &Error{Pos: pos, Msg: "bang"}
	if got := e2.Error(); got != "/x/a.go:3:7: bang" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Error{Msg: "no position"}).Error(); got != "no position" {
		t.Errorf("Error() = %q", got)
	}
	if got := (ErrorList{e2, e2}).Error(); got != "/x/a.go:3:7: bang\n/x/a.go:3:7: bang" {
		t.Errorf("ErrorList.Error() = %q", got)
	}
	for in, want := range map[string]token.Position{
		"/x/a.go:3:7": pos,
		"/x/a.go:3":   {Filename: "/x/a.go", Line: 3},
		"/x/a.go":     {Filename: "/x/a.go"},
		"a.go:1:2":    {Filename: "/d/a.go", Line: 1, Column: 2},
		"-":           {},
		"":            {},
	} {
		if got := parsePos(in, "/d"); got != want {
			t.Errorf("parsePos(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMultiplePackages(t *testing.T) {
	pkgs := loadOK(t, "testdata/multi", "./...")
	var got []string
	for _, p := range pkgs {
		got = append(got, p.Name+":"+p.Path)
	}
	want := []string{
		"a:github.com/cachegen/cachegen/gen/testdata/multi/a",
		"b:github.com/cachegen/cachegen/gen/testdata/multi/b",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("packages = %q, want %q", got, want)
	}
	// Several patterns, and the default pattern ".".
	if pkgs := loadOK(t, "testdata/multi", "./b", "./none"); len(pkgs) != 1 || pkgs[0].Name != "b" {
		t.Errorf("Load(./b ./none) = %d packages", len(pkgs))
	}
	if pkgs := loadOK(t, "testdata/multi/none"); len(pkgs) != 0 {
		t.Errorf("a package without models was returned")
	}
}

// module writes a temporary module with the given files and returns its
// directory.
func module(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module tmp\n\ngo 1.26\n")
	for name, src := range files {
		writeFile(t, filepath.Join(dir, name), src)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

func schemaOf(t *testing.T, src string) string {
	t.Helper()
	ms := modelsByName(loadOK(t, module(t, map[string]string{"m.go": src})))
	return ms["User"].Schema
}

func TestSchema(t *testing.T) {
	const base = `package tmp

import "time"

// User is a user.
type User struct {
	ID      int64     ` + "`db:\"id\" cache:\"pk\"`" + `
	Name    string    ` + "`db:\"name\"`" + `
	Created time.Time ` + "`db:\"created\"`" + `
}
`
	s := schemaOf(t, base)
	if !hex8.MatchString(s) {
		t.Fatalf("schema %q", s)
	}
	same := map[string]string{
		"comment": strings.Replace(base, "// User is a user.", "// User is someone.\n// More words.", 1),
		"ttl":     strings.Replace(base, "// User is a user.", "//cachegen:table users ttl=5m", 1),
		"go name": strings.Replace(base, "Name    string", "Label   string", 1),
	}
	for what, src := range same {
		if got := schemaOf(t, src); got != s {
			t.Errorf("changing the %s changed the schema: %s -> %s", what, s, got)
		}
	}
	changed := map[string]string{
		"type":         strings.Replace(base, "Name    string", "Name    []byte", 1),
		"int size":     strings.Replace(base, "ID      int64", "ID      int32", 1),
		"pointer":      strings.Replace(base, "Created time.Time", "Created *time.Time", 1),
		"column":       strings.Replace(base, `db:"name"`, `db:"full_name"`, 1),
		"table":        strings.Replace(base, "// User is a user.", "//cachegen:table people", 1),
		"field order":  strings.Replace(base, "\tName    string    `db:\"name\"`\n\tCreated time.Time `db:\"created\"`", "\tCreated time.Time `db:\"created\"`\n\tName    string    `db:\"name\"`", 1),
		"added column": strings.Replace(base, "}\n", "\tAge int `db:\"age\"`\n}\n", 1),
	}
	for what, src := range changed {
		if src == base {
			t.Fatalf("test bug: %s edit did not apply", what)
		}
		if got := schemaOf(t, src); got == s {
			t.Errorf("changing the %s kept the schema %s", what, s)
		}
	}
}

func TestTablesAcrossPackages(t *testing.T) {
	// Two packages may use one table name: they may serve different
	// databases. Within a package the sametable error case applies.
	dir := module(t, map[string]string{
		"a/a.go": "package a\n\ntype Post struct {\n\tID int64 `db:\"id\" cache:\"pk\"`\n}\n",
		"b/b.go": "package b\n\n//cachegen:table posts\ntype Article struct {\n\tID int64 `db:\"id\" cache:\"pk\"`\n}\n",
	})
	pkgs, err := Load(dir, "./...")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(pkgs) != 2 || pkgs[0].Files[0].Models[0].Table != "posts" || pkgs[1].Files[0].Models[0].Table != "posts" {
		t.Fatalf("got %d packages, want a and b both on table posts", len(pkgs))
	}
}

func TestStaleGeneratedFile(t *testing.T) {
	// A generated file that no longer compiles must not stop its own
	// regeneration; the user's own errors are still reported.
	model := "package tmp\n\ntype User struct {\n\tID int64 `db:\"id\" cache:\"pk\"`\n}\n"
	stale := "package tmp\n\nfunc (u *User) Email() string { return u.Mail }\n"
	pkgs := loadOK(t, module(t, map[string]string{"m.go": model, "m_cachegen.go": stale}))
	if ms := modelsByName(pkgs); ms["User"] == nil {
		t.Fatalf("no User model")
	}
	truncated := "package tmp\n\nfunc (u *User) Email() string {\n\treturn u.\n"
	pkgs = loadOK(t, module(t, map[string]string{"m.go": model, "m_cachegen.go": truncated}))
	if ms := modelsByName(pkgs); ms["User"] == nil {
		t.Fatalf("no User model")
	}

	dir := module(t, map[string]string{
		"m.go":          model + "\nvar _ = undefinedThing\n",
		"m_cachegen.go": stale,
	})
	_, err := Load(dir)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 || list[0].Pos.Filename != filepath.Join(dir, "m.go") || list[0].Pos.Line != 7 {
		t.Fatalf("Load = %v, want one error at m.go:7", err)
	}
}

func TestBrokenDependency(t *testing.T) {
	dir := module(t, map[string]string{
		"m.go":     "package tmp\n\nimport \"tmp/dep\"\n\ntype User struct {\n\tID dep.ID `db:\"id\" cache:\"pk\"`\n}\n",
		"dep/d.go": "package dep\n\ntype ID int64\n\nvar _ int = \"x\"\n",
	})
	_, err := Load(dir)
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("Load = %v, want errors", err)
	}
	e := list[0]
	if e.Pos.Filename != filepath.Join(dir, "dep/d.go") || e.Pos.Line != 5 || e.Pos.Column == 0 {
		t.Errorf("first error = %v, want one at dep/d.go:5", e)
	}
}

func TestLoadBadInput(t *testing.T) {
	for _, dir := range []string{"testdata/does-not-exist", "gen_test.go"} {
		pkgs, err := Load(dir)
		var list ErrorList
		if pkgs != nil || !errors.As(err, &list) || len(list) == 0 {
			t.Errorf("Load(%s) = %v, %v; want an ErrorList", dir, pkgs, err)
		}
	}
	_, err := Load("testdata", "./no-such-package")
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Errorf("Load(no such package) = %v; want an ErrorList", err)
	}
}

func TestDirectiveTTL(t *testing.T) {
	src := "package tmp\n\n// Doc on the GenDecl.\n//cachegen:table people ttl=1500ms // trailing comment\ntype User struct {\n\tID int64 `db:\"id\" cache:\"pk\"`\n}\n\ntype (\n\t//cachegen:table grouped_things ttl=2h\n\tThing struct {\n\t\tID string `db:\"id\" cache:\"pk\"`\n\t}\n)\n"
	ms := modelsByName(loadOK(t, module(t, map[string]string{"m.go": src})))
	if u := ms["User"]; u.Table != "people" || u.TTL != 1500*time.Millisecond {
		t.Errorf("User: %q %v", u.Table, u.TTL)
	}
	if th := ms["Thing"]; th.Table != "grouped_things" || th.TTL != 2*time.Hour || th.AutoPK {
		t.Errorf("Thing: %q %v %v", th.Table, th.TTL, th.AutoPK)
	}
}

func TestOddInputsDoNotPanic(t *testing.T) {
	srcs := []string{
		"package tmp\n\n//cachegen:table\ntype E struct{}\n",
		"package tmp\n\ntype E struct{ X int `cache:\"\"` }\n",
		"package tmp\n\ntype T struct {\n\tID   int64 `db:\"id\" cache:\"pk\"`\n\tNext *T    `db:\"next\" cache:\"fk=T\"`\n}\n",
		"package tmp\n\nimport \"database/sql\"\n\ntype N[T any] = sql.Null[T]\n\ntype T struct {\n\tID int64  `db:\"id\" cache:\"pk\"`\n\tV  N[int] `db:\"v\"`\n}\n",
		"package tmp\n\ntype T struct {\n\tID, ID2 int64 `db:\"id\" cache:\"pk\"`\n\t_ int `db:\"x\"`\n}\n",
		"package tmp\n\ntype T struct {\n\tID int64 `db:\"id\" cache:\"pk,fk=T,unique_together=a,unique_together=a\"`\n}\n",
		"package tmp\n\ntype A = T\n\ntype T struct {\n\tID int64 `db:\"id\" cache:\"pk,manual\"`\n\tX  A     `db:\"x\" cache:\"fk=A\"`\n}\n",
		"package tmp\n\n//cachegen:table t ttl=1h ttl\ntype T struct {\n\tID [0]byte `db:\"id\" cache:\"pk\"`\n}\n",
	}
	for i, src := range srcs {
		_, err := Load(module(t, map[string]string{"m.go": src}))
		t.Logf("input %d: %v", i, err)
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Errorf("input %d: %v", i, err)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLookupsAndNames checks what gen decides for the templates to print:
// each lookup's number, constant and miss policy, and the names of
// parameters, variables and loaders.
func TestLookupsAndNames(t *testing.T) {
	byName := modelsByName(loadOK(t, "testdata/models"))
	u := byName["User"]
	var got []string
	for _, ix := range u.Lookups() {
		var text []string
		for _, f := range ix.Text {
			text = append(text, f.Name)
		}
		got = append(got, fmt.Sprintf("%d %s %s %s %v", ix.Ordinal, ix.Const, ix.Method, ix.Misses, text))
	}
	want := []string{
		"0 userByID GetByID CacheMisses []",
		"1 userByEmail GetByEmail CacheMissesIfExact [Email]",
		"2 userByOrgIDHandle GetByOrgIDHandle CacheMissesIfExact [Handle]",
		"3 userByOrgIDSlot GetByOrgIDSlot CacheMisses []",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("User's lookups:\n got %q\nwant %q", got, want)
	}
	if u.PKIndex != u.Lookups()[0] || u.PKIndex.Batch != "GetByIDs" || u.Repo != "UserRepo" || u.New != "NewUserRepo" ||
		u.Spec != "userSpec" || u.Mapper != "userMapper" || u.Var != "u" || u.Vars != "users" {
		t.Errorf("User: pk index %+v, repo %q, spec %q, mapper %q, vars %q %q",
			u.PKIndex, u.Repo, u.Spec, u.Mapper, u.Var, u.Vars)
	}

	var rels []string
	for _, r := range u.Relations {
		rels = append(rels, fmt.Sprintf("%s %s %s %s", r.Load, r.LoadMany, r.Get, r.GetMany))
	}
	if want := []string{"LoadOrg LoadOrgs GetByID GetByIDs", "LoadParent LoadParents GetByID GetByIDs"}; !reflect.DeepEqual(rels, want) {
		t.Errorf("User's loaders:\n got %q\nwant %q", rels, want)
	}

	for _, c := range []struct {
		model, field, param, params string
	}{
		{"User", "OrgID", "orgID", "orgIDs"},
		{"OrgMember", "Key", "keyValue", "keys"}, // key is the getters' buffer
		{"Box", "Code", "code", "codes"},
	} {
		f := field(t, byName[c.model], c.field)
		if f.Param != c.param || f.Params != c.params {
			t.Errorf("%s.%s: params %q %q, want %q %q", c.model, c.field, f.Param, f.Params, c.param, c.params)
		}
	}
	if b, h := byName["Box"], byName["HTTPLog"]; b.Var != "row" || h.Var != "h" || h.Vars != "httpLogs" {
		t.Errorf("vars: Box %q, HTTPLog %q %q; want row, h httpLogs", b.Var, h.Var, h.Vars)
	}
}
