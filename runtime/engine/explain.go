package engine

import (
	"strings"
	"time"
)

// Plan is what a table's repository sends to the store and the database on
// one dialect, under one key prefix: for cachegen -explain, built by the
// same code the repository uses, so it cannot drift from what runs.
type Plan struct {
	// Keys holds per index (spec order) the start of its keys, up to the
	// value: "cg:users:email=". A key longer than MaxKeyLen is hashed.
	Keys []string
	// AllKey caches the list All returns.
	AllKey string
	// SelectBy holds per index the lookup's SELECT.
	SelectBy []string
	// SelectAll is All's query; LockRow (SQLite only) and SelectForUpdate
	// read a row's old values under its lock before a write.
	SelectAll, LockRow, SelectForUpdate string
	// Insert writes every column; InsertAuto every column but a generated
	// primary key; Update every column but the key; Delete one row.
	Insert, InsertAuto, Update, Delete string
}

// Explain returns the plan of a table with columns and indexes (the
// primary key first), as a repository made with dialect d and key prefix
// prefix ("" for the default) runs it.
func Explain(d Dialect, prefix, table string, columns []string, indexes []Index) Plan {
	if prefix == "" {
		prefix = defaultOptions().prefix
	}
	s := buildStatements(d, table, columns, indexes, indexes[0].Columns[0])
	base := tableBase(prefix, table)
	p := Plan{AllKey: base + "all", SelectBy: s.selectBy, SelectAll: s.selectAll, LockRow: s.lockRow,
		SelectForUpdate: s.selectForUpd, Insert: s.insert, InsertAuto: s.insertAuto, Update: s.update, Delete: s.deleteByPK}
	for _, ix := range indexes {
		cols := make([]string, len(ix.Columns))
		for k, c := range ix.Columns {
			cols[k] = columns[c]
		}
		p.Keys = append(p.Keys, base+strings.Join(cols, ",")+"=")
	}
	return p
}

// Defaults are the options a repository has when none is given: the key
// prefix, how long a row and a confirmed miss stay cached, and the most
// rows All caches.
func Defaults() (prefix string, ttl, notFoundTTL time.Duration, allCap int) {
	o := defaultOptions()
	return o.prefix, o.ttl, o.notFoundTTL, o.allCap
}
