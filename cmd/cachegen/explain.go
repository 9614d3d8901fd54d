package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cachegen/cachegen/gen"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
)

// explain prints, for every model of pkgs, what its repository does to the
// store and the database: its keys with their TTLs and miss policies, what
// Save and Delete invalidate, its SQL on each dialect, and what change-data
// capture needs of its table. Keys and SQL come from the runtime's own
// builders (engine.Explain), under the default options.
func explain(w io.Writer, pkgs []*gen.Package, dir string) {
	prefix, ttl, missTTL, allCap := engine.Defaults()
	first := true
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, m := range f.Models {
				if !first {
					fmt.Fprintln(w)
				}
				first = false
				explainModel(w, m, fmt.Sprintf("%s:%d", rel(dir, f.Source), m.Pos.Line), prefix, ttl, missTTL, allCap)
			}
		}
	}
}

func explainModel(w io.Writer, m *gen.Model, at, prefix string, defTTL, missTTL time.Duration, allCap int) {
	columns := make([]string, len(m.Fields))
	pos := map[*gen.Field]int{}
	for i, f := range m.Fields {
		columns[i] = f.Column
		pos[f] = i
	}
	lookups := m.Lookups()
	indexes := make([]engine.Index, len(lookups))
	for i, ix := range lookups {
		for _, f := range ix.Fields {
			indexes[i].Columns = append(indexes[i].Columns, pos[f])
		}
	}
	ttl, ttlFrom := m.TTL, "ttl= of the directive"
	if ttl == 0 {
		ttl, ttlFrom = defTTL, "the runtime's default"
	}
	plan := engine.Explain(runtime.Postgres, prefix, m.Table, columns, indexes)

	fmt.Fprintf(w, "%s  table %s  (%s)\n", m.Name, m.Table, at)
	fmt.Fprintf(w, "  rows cached %s (%s; runtime.WithTTL overrides), confirmed misses %s\n", duration(ttl), ttlFrom, duration(missTTL))

	fmt.Fprintf(w, "\n  keys (prefix %q; runtime.WithPrefix sets it):\n", prefix)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	keyOf := make([]string, len(lookups))
	for i, ix := range lookups {
		var vals []string
		for _, f := range ix.Fields {
			vals = append(vals, "<"+f.Name+">")
		}
		keyOf[i] = strings.TrimPrefix(plan.Keys[i], strings.TrimSuffix(plan.AllKey, "all"))
		methods := ix.Method
		if ix.Batch != "" {
			methods += ", " + ix.Batch
		}
		fmt.Fprintf(tw, "    %s%s\t%s\tmiss: %s\n", plan.Keys[i], strings.Join(vals, ","), methods, missText(ix))
	}
	fmt.Fprintf(tw, "    %s\t%s\tthe table ordered by %s, cached up to %d rows\n", plan.AllKey, "All", m.PK.Column, allCap)
	tw.Flush()

	var uniques []string
	for _, k := range keyOf[1:] {
		uniques = append(uniques, k+"…")
	}
	rowKeys := strings.Join(append([]string{keyOf[0] + "…"}, uniques...), ", ")
	fmt.Fprintln(w, "\n  writes lock these keys in the transaction and release them after the commit:")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if m.AutoPK {
		fmt.Fprintf(tw, "    Save, insert (zero %s)\t%s of the new row; all\n", m.PK.Name, rowKeys)
	}
	fmt.Fprintf(tw, "    Save, update\t%s of the row as it was (read under its row lock) and as written; all\n", rowKeys)
	if !m.AutoPK {
		fmt.Fprintf(tw, "    Save, insert (no row)\t%s of the new row; all\n", rowKeys)
	}
	fmt.Fprintf(tw, "    Delete\t%s of the deleted row; all\n", rowKeys)
	tw.Flush()

	fmt.Fprintln(w, "\n  SQL:")
	for _, d := range []runtime.Dialect{runtime.SQLite, runtime.Postgres, runtime.MySQL} {
		p := engine.Explain(d, prefix, m.Table, columns, indexes)
		fmt.Fprintf(w, "    %s:\n", dialectName(d))
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		for i, ix := range lookups {
			fmt.Fprintf(tw, "      %s\t%s\n", ix.Method, p.SelectBy[i])
		}
		fmt.Fprintf(tw, "      All\t%s\n", p.SelectAll)
		if p.LockRow != "" {
			fmt.Fprintf(tw, "      lock row\t%s\n", p.LockRow)
		}
		fmt.Fprintf(tw, "      old row\t%s\n", p.SelectForUpdate)
		if m.AutoPK {
			fmt.Fprintf(tw, "      insert\t%s\n", p.InsertAuto)
		} else {
			fmt.Fprintf(tw, "      insert\t%s\n", p.Insert)
		}
		if p.Update != "" {
			fmt.Fprintf(tw, "      update\t%s\n", p.Update)
		}
		fmt.Fprintf(tw, "      delete\t%s\n", p.Delete)
		tw.Flush()
	}

	fmt.Fprintln(w, "\n  change-data capture:")
	if len(m.Uniques) > 0 {
		var names []string
		for _, k := range keyOf[1:] {
			names = append(names, strings.TrimSuffix(k, "="))
		}
		fmt.Fprintf(w, "    postgresql: ALTER TABLE %s REPLICA IDENTITY FULL (without it the stream lacks the old %s)\n",
			quotePG(m.Table), strings.Join(names, "; "))
	} else {
		fmt.Fprintln(w, "    postgresql: the default replica identity (the primary key) is enough: no unique index")
	}
	fmt.Fprintln(w, "    mariadb/mysql: binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL")
	fmt.Fprintln(w, "    sqlite: no change stream; writes from elsewhere call Invalidate or wait for the TTL")
}

// missText says what the runtime does with a miss the database confirmed.
func missText(ix *gen.Index) string {
	switch ix.Misses {
	case gen.CacheMisses:
		return "cached (CacheMisses)"
	case gen.CacheMissesIfExact:
		var names []string
		for _, f := range ix.Text {
			names = append(names, f.Column)
		}
		return fmt.Sprintf("cached where the catalog says %s compare%s byte for byte (CacheMissesIfExact)",
			strings.Join(names, ", "), map[bool]string{true: "s", false: ""}[len(names) == 1])
	}
	return "never cached (NeverCacheMisses)"
}

func dialectName(d runtime.Dialect) string {
	switch d {
	case runtime.SQLite:
		return "sqlite"
	case runtime.Postgres:
		return "postgresql"
	}
	return "mariadb/mysql"
}

// quotePG quotes each part of a table name as PostgreSQL does.
func quotePG(table string) string {
	parts := strings.Split(table, ".")
	for i, p := range parts {
		parts[i] = `"` + p + `"`
	}
	return strings.Join(parts, ".")
}

// duration prints d the short way: 10m, 1h30m, 45s.
func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
