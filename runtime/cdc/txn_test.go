package cdc

import (
	"fmt"
	"testing"
	"time"
)

func TestTxnKeepsChangesUpToMax(t *testing.T) {
	tx := newTxn(3)
	tx.begin()
	for i := range 3 {
		tx.add(Change{Table: "s.a", Op: Insert, New: map[string]any{"id": i}})
	}
	b := tx.commit("p1", time.Unix(1, 0))
	if b.Collapsed || len(b.Changes) != 3 || b.Position != "p1" {
		t.Fatalf("got collapsed=%v changes=%d pos=%q, want 3 changes at p1", b.Collapsed, len(b.Changes), b.Position)
	}
	if fmt.Sprint(b.Tables) != "[s.a]" {
		t.Fatalf("tables %v", b.Tables)
	}
}

// A transaction over the limit keeps no change, only its tables: memory is
// bounded by the limit whatever the transaction's size.
func TestTxnCollapsesOverMax(t *testing.T) {
	tx := newTxn(3)
	tx.begin()
	for i := range 100_000 {
		table := "s.a"
		if i%2 == 1 {
			table = "s.b"
		}
		tx.add(Change{Table: table, Op: Update, New: map[string]any{"id": i}})
		if len(tx.changes) > 3 || cap(tx.changes) > 4 {
			t.Fatalf("after %d changes the transaction holds %d (cap %d), limit 3", i+1, len(tx.changes), cap(tx.changes))
		}
	}
	b := tx.commit("p2", time.Time{})
	if !b.Collapsed || b.Changes != nil {
		t.Fatalf("collapsed=%v changes=%d, want a collapsed batch without changes", b.Collapsed, len(b.Changes))
	}
	if fmt.Sprint(b.Tables) != "[s.a s.b]" {
		t.Fatalf("tables %v, want [s.a s.b]", b.Tables)
	}
	// the next transaction starts afresh
	tx.begin()
	tx.add(Change{Table: "s.c", Op: Delete})
	b = tx.commit("p3", time.Time{})
	if b.Collapsed || len(b.Changes) != 1 || fmt.Sprint(b.Tables) != "[s.c]" {
		t.Fatalf("next transaction: collapsed=%v changes=%d tables=%v", b.Collapsed, len(b.Changes), b.Tables)
	}
}
