package cdc

import "time"

// DefaultMaxChanges is Options.MaxChanges when it is zero.
const DefaultMaxChanges = 10_000

// txn gathers one transaction's changes until its commit, holding at most
// max of them: past that it keeps only the set of tables changed, so a
// transaction of any size costs bounded memory.
type txn struct {
	max       int
	open      bool
	changes   []Change
	tables    []string
	seen      map[string]bool
	collapsed bool
}

func newTxn(max int) *txn {
	if max <= 0 {
		max = DefaultMaxChanges
	}
	return &txn{max: max, seen: make(map[string]bool)}
}

func (t *txn) begin() {
	t.open = true
	t.changes = nil
	t.tables = nil
	clear(t.seen)
	t.collapsed = false
}

func (t *txn) add(c Change) {
	if !t.seen[c.Table] {
		t.seen[c.Table] = true
		t.tables = append(t.tables, c.Table)
	}
	if t.collapsed {
		return
	}
	if len(t.changes) >= t.max {
		t.collapsed = true
		t.changes = nil // the garbage collector takes them back now
		return
	}
	t.changes = append(t.changes, c)
}

// commit ends the transaction and returns its batch.
func (t *txn) commit(pos Position, at time.Time) *Batch {
	b := &Batch{Position: pos, Commit: at, Changes: t.changes, Collapsed: t.collapsed, Tables: t.tables}
	t.open = false
	t.changes = nil
	t.tables = nil
	clear(t.seen)
	t.collapsed = false
	return b
}
