package engine

import (
	"strings"
	"testing"
)

// Every statement names a schema-qualified table as two quoted
// identifiers, and SQLite's never holds a double quote (which it would
// read as a string when the name does not resolve).
func TestStatementsQuoteQualifiedTable(t *testing.T) {
	want := map[Dialect]string{
		SQLite:   "`other`.`things`",
		Postgres: `"other"."things"`,
		MySQL:    "`other`.`things`",
	}
	for d, tbl := range want {
		for _, cols := range [][]string{{"id", "email"}, {"id"}} {
			s := buildStatements(d, "other.things", cols, []Index{{Name: "id", Columns: []int{0}}}, 0)
			all := append(append([]string{}, s.selectBy...), s.selectAll, s.selectForUpd, s.insert, s.insertAuto, s.deleteByPK)
			if s.update != "" {
				all = append(all, s.update)
			}
			if d == SQLite {
				all = append(all, s.lockRow)
			}
			for _, stmt := range all {
				if !strings.Contains(stmt, tbl) {
					t.Errorf("%s: %q does not name %s", d, stmt, tbl)
				}
				if d == SQLite && strings.Contains(stmt, `"`) {
					t.Errorf("%s: %q holds a double quote", d, stmt)
				}
			}
		}
	}
}

func TestCheckTableName(t *testing.T) {
	for name, ok := range map[string]bool{
		"things": true, "other.things": true,
		"": false, "a.b.c": false, ".things": false, "other.": false, "a..b": false,
	} {
		if err := checkTableName(name); (err == nil) != ok {
			t.Errorf("%q: %v", name, err)
		}
	}
}
