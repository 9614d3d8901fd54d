package scaffold

import (
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/catalog"
)

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"id": "ID", "org_id": "OrgID", "orgId": "OrgID", "select": "Select", "type": "Type", "func": "Func",
		"user_url": "UserURL", "2fa_code": "X2faCode", "_": "X", "__private": "Private", "HTTPStatus": "HTTPStatus", "userID": "UserID",
		"UPPER_CASE": "UpperCase", "json_data": "JSONData", "uuid": "UUID",
	} {
		if got := goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSingular(t *testing.T) {
	for in, want := range map[string]string{
		"users": "user", "categories": "category", "addresses": "address", "boxes": "box", "status": "status",
		"order": "order", "people": "people", "matches": "match", "data": "data",
	} {
		if got := singular(in); got != want {
			t.Errorf("singular(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFileName: a table's file is never one go build skips or reads a
// build constraint in.
func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"users": "users.go", "shop.products": "shop_products.go", "Orders": "orders.go",
		"build_linux": "build_linux_table.go", "unit_test": "unit_test_table.go", "x_amd64": "x_amd64_table.go",
		"_tmp": "table_tmp.go", "generate": "generate_table.go", "users_cachegen": "users_cachegen_table.go",
		"linux_users": "linux_users.go",
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func col(name, typ string, notNull bool) catalog.Column {
	return catalog.Column{Name: name, Type: typ, NotNull: notNull}
}

func build(t *testing.T, tables ...Table) (map[string]string, string) {
	t.Helper()
	files, warnings, err := Build(tables, Options{Dialect: catalog.Postgres, Package: "models", Source: "db"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[f.Name] = string(f.Source)
	}
	return out, strings.Join(warnings, "\n")
}

func TestBuild(t *testing.T) {
	id := catalog.Column{Name: "id", Type: "bigint", NotNull: true, Generated: true}
	users := Table{Name: "users", Catalog: &catalog.Table{Schema: "public", Name: "users", PrimaryKey: []string{"id"},
		Columns: []catalog.Column{id, col("org_id", "integer", true), col("handle", "text", true),
			col("email", "text", false), col("doc", "jsonb", false), col("span", "interval", true),
			col("boss_id", "bigint", true), col("code", "character varying(8)", true)},
		Indexes: []catalog.Index{
			{Name: "users_org_handle", Columns: []string{"org_id", "handle"}, Unique: true},
			{Name: "users_handle_org", Columns: []string{"handle", "org_id"}, Unique: true}, // the same set
			{Name: "users_email", Columns: []string{"email"}, Unique: true},
			{Name: "users_code_partial", Columns: []string{"code"}, Unique: true, Partial: true},
			{Name: "users_lower", Columns: []string{""}, Unique: true, Expression: true},
			{Name: "users_id_email", Columns: []string{"id", "email"}, Unique: true}, // the pk's: unique already
		}},
		// A NOT NULL reference to its own table: no first row could be
		// inserted, so the generator refuses its fk tag.
		ForeignKeys: []catalog.ForeignKey{{Name: "boss", Columns: []string{"boss_id"}, RefSchema: "public", RefTable: "users", RefColumns: []string{"id"}}},
	}
	// user_repos would be UserRepo, the repository of users.
	repos := Table{Name: "user_repos", Catalog: &catalog.Table{Schema: "public", Name: "user_repos", PrimaryKey: []string{"code"},
		Columns: []catalog.Column{col("code", "text", true), col("user_id", "integer", false), col("n", "smallint", true)},
		Indexes: []catalog.Index{}},
		ForeignKeys: []catalog.ForeignKey{
			{Name: "owner", Columns: []string{"user_id"}, RefSchema: "public", RefTable: "users", RefColumns: []string{"id"}},
			{Name: "elsewhere", Columns: []string{"n"}, RefSchema: "public", RefTable: "other", RefColumns: []string{"id"}},
		},
	}
	manual := Table{Name: "shop.tickets", Catalog: &catalog.Table{Schema: "shop", Name: "tickets", PrimaryKey: []string{"no"},
		Columns: []catalog.Column{col("no", "integer", true)}}}
	composite := Table{Name: "pairs", Catalog: &catalog.Table{Name: "pairs", PrimaryKey: []string{"a", "b"},
		Columns: []catalog.Column{col("a", "integer", true), col("b", "integer", true)}}}
	odd := Table{Name: "odd", Catalog: &catalog.Table{Name: "odd", PrimaryKey: []string{"id"},
		Columns: []catalog.Column{id, col("user-name", "text", true)}}}

	files, warnings := build(t, users, repos, manual, composite, odd)
	for file, want := range map[string][]string{
		"users.go": {
			"//cachegen:table users\ntype User struct",
			"ID      int64           `db:\"id\" cache:\"pk\"`",
			"OrgID   int32           `db:\"org_id\" cache:\"unique_together=org_id_handle\"`",
			"Handle  string          `db:\"handle\" cache:\"unique_together=org_id_handle\"`",
			"Email   *string         `db:\"email\" cache:\"unique\"`",
			"Doc     json.RawMessage `db:\"doc\"`",
			"Span    string          `db:\"span\"` // interval: no Go type",
			"BossID  int64           `db:\"boss_id\"`",
			"Code    string          `db:\"code\"`",
			"\"encoding/json\"",
		},
		"user_repos.go": {
			"type UserRepoRow struct",
			"Code   string `db:\"code\" cache:\"pk\"`",
			"UserID *int32 `db:\"user_id\" cache:\"fk=User\"`",
			"N      int16  `db:\"n\"`",
		},
		"shop_tickets.go": {"//cachegen:table shop.tickets\n", "No int32 `db:\"no\" cache:\"pk,manual\"`"},
	} {
		src, ok := files[file]
		if !ok {
			t.Errorf("no file %s; got %v", file, keys(files))
			continue
		}
		for _, w := range want {
			if !strings.Contains(squash(src), squash(w)) {
				t.Errorf("%s does not hold %q:\n%s", file, w, src)
			}
		}
	}
	if n := strings.Count(files["users.go"], "unique_together="); n != 2 {
		t.Errorf("one unique_together group of two fields: %d tags\n%s", n, files["users.go"])
	}
	for _, w := range []string{
		"table pairs left out: a primary key of 2 columns",
		`table odd left out: cachegen takes column names of [A-Za-z_][A-Za-z0-9_]*, not "user-name"`,
		"table users: fk tag of boss_id left out: NOT NULL foreign keys in a cycle",
		"table user_repos: foreign key elsewhere (n) not tagged: references other, which is not among the tables written",
		"table users: column span: interval: no Go type",
	} {
		if !strings.Contains(warnings, w) {
			t.Errorf("no warning %q in:\n%s", w, warnings)
		}
	}
	if len(files) != 3 {
		t.Errorf("files %v, want users, user_repos and shop.tickets", keys(files))
	}
}

// squash collapses runs of blanks: gofmt's alignment is not the point.
func squash(s string) string {
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.Join(strings.Fields(line), " "))
	}
	return b.String()
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
