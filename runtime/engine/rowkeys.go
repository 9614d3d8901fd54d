package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cachegen/cachegen/runtime/store"
)

// ChangeTable is a repository's table as a change-stream consumer (package
// runtime/cdc) sees it: the keys a changed row's column values name, built
// by the model's own key code, and the way to drop them. Every table a
// generated NewRepos builds is listed by its registry's ChangeTables.
type ChangeTable interface {
	// TableName is the model's table as its spec names it ("users", or
	// "shop.users").
	TableName() string
	// RowKeys returns the key of every index (primary key first) of the
	// row whose column values row holds, as a change stream decodes them,
	// byte for byte the keys a repository write of that row locks. It
	// fails when row lacks a column an index is built from, or holds a
	// value the column's field cannot take.
	RowKeys(row map[string]any) ([]string, error)
	// DropKeys invalidates keys and the All key the way a write's release
	// does after its commit: each key locked and released (deleting what it
	// holds and voiding fill leases), then announced to near caches. It
	// returns an error when any failed: the caller tries again.
	DropKeys(ctx context.Context, keys []string) error
	// InvalidateAll drops every key of the table (see Table.InvalidateAll).
	InvalidateAll(ctx context.Context) error
}

// changeTables is what a Registry lists for a change-stream consumer: every
// table made with it, in the order made.
type changeTables struct {
	mu     sync.Mutex
	tables []ChangeTable
}

func (c *changeTables) add(t ChangeTable) {
	c.mu.Lock()
	c.tables = append(c.tables, t)
	c.mu.Unlock()
}

// ChangeTables returns the table of every repository made with reg (by
// NewRepos or with WithRegistry), for a change-stream consumer. A table made
// twice (two key prefixes) is listed twice.
func (r *Registry) ChangeTables() []ChangeTable {
	r.changed.mu.Lock()
	defer r.changed.mu.Unlock()
	return slices.Clone(r.changed.tables)
}

var _ ChangeTable = (*Table[struct{}])(nil)

// TableName implements ChangeTable.
func (t *Table[T]) TableName() string { return t.spec.Table }

// RowKeys implements ChangeTable. The values go into a row of the model
// through its generated Scan, as a database driver's values would
// (database/sql's conversions, a field's own sql.Scanner), so the keys are
// those of the row a repository reads.
func (t *Table[T]) RowKeys(row map[string]any) ([]string, error) {
	var missing []string
	for _, ix := range t.spec.Indexes {
		for _, c := range ix.Columns {
			if _, ok := row[t.spec.Columns[c]]; !ok && !slices.Contains(missing, t.spec.Columns[c]) {
				missing = append(missing, t.spec.Columns[c])
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s lacks %s", ErrRowIncomplete, t.spec.Table, strings.Join(missing, ", "))
	}
	// Another build's index (learned from the build board) may be built
	// from any mapped column: with a board, every column the row carries
	// goes through, so the keys a write of this build would lock for that
	// index are dropped too.
	key := t.indexColumns()
	if t.builds != nil {
		for i, c := range t.spec.Columns {
			_, ok := row[c]
			key[i] = key[i] || ok
		}
	}
	var r T
	if err := t.spec.Mapper.Scan(rowScanner{cols: t.spec.Columns, types: t.spec.Types, key: key, row: row}, &r); err != nil {
		return nil, fmt.Errorf("cachegen: keys of a changed %s row: %w", t.spec.Table, err)
	}
	keys := make([]string, len(t.spec.Indexes))
	for i := range t.spec.Indexes {
		keys[i] = t.Key(i, &r)
	}
	return t.learnedKeys(keys, []*T{&r}), nil
}

// ErrRowIncomplete: a changed row lacks a column its keys are built from
// (a PostgreSQL table without REPLICA IDENTITY FULL, an unchanged TOAST
// value): its keys cannot be known from it.
var ErrRowIncomplete = errors.New("cachegen: the changed row lacks key columns")

// DropKeys implements ChangeTable.
func (t *Table[T]) DropKeys(ctx context.Context, keys []string) error {
	if t.store == nil {
		return nil
	}
	keys = append(slices.Clone(keys), t.allKey)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	locks := make([]store.LockOp, len(keys))
	for i, k := range keys {
		locks[i] = store.LockOp{Key: k, TTL: t.opts.lockTTL}
	}
	store.Batched(t.store).LockMany(ctx, locks)
	unlocks := make([]store.UnlockOp, 0, len(keys))
	var errs []error
	for _, op := range locks {
		if op.Err != nil {
			t.storeFailed(ctx, "lock", op.Err)
			errs = append(errs, op.Err)
			continue
		}
		unlocks = append(unlocks, store.UnlockOp{Key: op.Key})
	}
	store.Batched(t.store).UnlockMany(ctx, unlocks)
	for _, op := range unlocks {
		if op.Err != nil {
			t.storeFailed(ctx, "unlock", op.Err)
			errs = append(errs, op.Err)
			continue
		}
		t.stats.invalidations.Add(1)
	}
	if t.near != nil {
		if err := t.near.announce(ctx, keys); err != nil {
			t.storeFailed(ctx, "publish", err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cachegen: drop %d keys of %s: %d failed: %w", len(keys), t.spec.Table, len(errs), errs[0])
	}
	return nil
}

// indexColumns marks the columns some index is built from.
func (t *Table[T]) indexColumns() []bool {
	key := make([]bool, len(t.spec.Columns))
	for _, ix := range t.spec.Indexes {
		for _, c := range ix.Columns {
			key[c] = true
		}
	}
	return key
}
