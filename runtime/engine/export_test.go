package engine

import (
	"context"

	"github.com/cachegen/cachegen/internal/catalog"
)

// UseLooseGuard gives t the guarded UPDATE of before the byte-for-byte
// forms: every column compared by its own equality, the catalog's verdict
// ignored. The negative control of the guard tests: under a loose
// collation it takes a row holding another spelling for one holding the
// new value's.
func UseLooseGuard[T any](ctx context.Context, t *Table[T]) {
	t.readExactness(ctx)
	g, _ := t.dialect.guardFor(t.sql.update, t.sql.updatePhs, t.spec.Columns, t.spec.Indexes, t.pkCol,
		func(int) catalog.Bytewise { return catalog.BytewiseEqual })
	t.exact.guard.Store(&g)
}

// GuardSQL returns the guarded UPDATE t would run, "" when none.
func GuardSQL[T any](ctx context.Context, t *Table[T]) string {
	if g := t.guard(ctx); g != nil {
		return g.sql
	}
	return ""
}
