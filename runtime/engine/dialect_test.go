package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/catalog"
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

// TestGuardFor: the guarded UPDATE compares each text column of a unique
// index as the catalog allows, byte for byte; a text primary key keeps its
// own equality (the row's index) and is compared byte for byte besides;
// integers keep theirs; a text column with no byte-for-byte form leaves
// the table without a guard.
func TestGuardFor(t *testing.T) {
	columns := []string{"name", "email", "org", "handle", "note"}
	indexes := []Index{
		{Name: "name", Columns: []int{0}, Misses: CacheMissesIfExact, Text: []int{0}},
		{Name: "email", Columns: []int{1}, Misses: CacheMissesIfExact, Text: []int{1}},
		{Name: "org_handle", Columns: []int{2, 3}, Misses: CacheMissesIfExact, Text: []int{3}},
	}
	loose := func(int) catalog.Bytewise { return catalog.BytewiseText }
	const mysqlSet = "UPDATE `t` SET `email` = ?, `org` = ?, `handle` = ?, `note` = ? WHERE `name` = ?"
	cases := []struct {
		d    Dialect
		how  func(int) catalog.Bytewise
		want string
		cols []int
	}{
		{MySQL, nil, mysqlSet + " AND `email` = ? AND `org` = ? AND `handle` = ?", []int{1, 2, 3}},
		{MySQL, loose, mysqlSet + mysqlSessionUTF8 +
			" AND CAST(CONVERT(`name` USING utf8mb4) AS BINARY) = CAST(? AS BINARY)" +
			" AND CAST(CONVERT(`email` USING utf8mb4) AS BINARY) = CAST(? AS BINARY)" +
			" AND `org` = ? AND CAST(CONVERT(`handle` USING utf8mb4) AS BINARY) = CAST(? AS BINARY)", []int{0, 1, 2, 3}},
		{SQLite, loose, "UPDATE `t` SET `email` = ?, `org` = ?, `handle` = ?, `note` = ? WHERE `name` = ?" +
			" AND `name` = ? COLLATE BINARY AND `email` = ? COLLATE BINARY AND `org` = ? AND `handle` = ? COLLATE BINARY", []int{0, 1, 2, 3}},
		{Postgres, func(c int) catalog.Bytewise {
			return []catalog.Bytewise{catalog.BytewiseEqual, catalog.BytewiseCitext, 0, catalog.BytewiseText}[c]
		}, `UPDATE "t" SET "email" = $1, "org" = $2, "handle" = $3, "note" = $4 WHERE "name" = $5` +
			` AND "email"::text = $6::text COLLATE "C" AND "org" = $7 AND "handle" = $8 COLLATE "C"`, []int{1, 2, 3}},
	}
	for _, c := range cases {
		s := buildStatements(c.d, "t", columns, indexes, 0)
		g, ok := c.d.guardFor(s.update, s.updatePhs, columns, indexes, 0, c.how)
		if !ok || g.sql != c.want || !slices.Equal(g.cols, c.cols) {
			t.Errorf("%s: %v %q %v,\nwant %q %v", c.d, ok, g.sql, g.cols, c.want, c.cols)
		}
	}
	for _, none := range []int{0, 1, 3} {
		how := func(c int) catalog.Bytewise {
			if c == none {
				return catalog.NotBytewise
			}
			return catalog.BytewiseEqual
		}
		if g, ok := MySQL.guardFor("UPDATE …", 5, columns, indexes, 0, how); ok {
			t.Errorf("column %s has no byte-for-byte form, yet the guard is %q", columns[none], g.sql)
		}
	}
}
