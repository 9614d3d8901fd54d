package engine

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/cachegen/cachegen/runtime/observe"
	"github.com/cachegen/cachegen/runtime/store"
)

// InvalidateRows drops every cached copy of rows, under the primary key and each
// unique key of the values they hold, and the All list. It is for rows
// changed by SQL the repository did not run: pass each row as it was before
// the change (and as it is after, if its unique values changed). Joined to a
// Tx, the keys stay locked until the transaction ends.
func (t *Table[T]) InvalidateRows(ctx context.Context, rows ...*T) error {
	return t.invalidate(ctx, t.writeKeys(rows))
}

// InvalidateByPK drops the cached copies of the rows with the primary keys
// of probes: under the primary key, under each unique key of the row as the
// database holds it now, and the All list. Unique values the row no longer
// holds cannot be found this way; InvalidateRows with the old row covers them.
func (t *Table[T]) InvalidateByPK(ctx context.Context, probes ...*T) error {
	var keys []string
	var rows []*T
	for _, p := range probes {
		keys = append(keys, t.Key(0, p))
		res, err := t.loadOne(ctx, 0, keys[len(keys)-1], p)
		if err != nil {
			return err
		}
		if res.kind == store.CachedRow {
			rows = append(rows, res.row)
		}
	}
	return t.invalidate(ctx, append(keys, t.writeKeys(rows)...)) // writeKeys ends with the All key
}

// InvalidateAll drops every key of the table under this repository's
// prefix, whichever build of the model filled it. It costs one step per cached key, so it is for migrations and
// bulk changes; the store must implement KeyScanner (the memory and Redis
// stores do). Joined to a Tx, the keys stay locked until it ends.
func (t *Table[T]) InvalidateAll(ctx context.Context) error {
	if t.store == nil {
		return nil
	}
	scanner, ok := t.breaker.inner.(store.KeyScanner)
	if !ok {
		return fmt.Errorf("cachegen: InvalidateAll on %s: the store (%T) cannot list its keys", t.spec.Table, t.breaker.inner)
	}
	prefix := t.base
	var keys []string
	if err := scanner.ScanKeys(ctx, prefix, func(key string) error {
		if t.builds != nil && key == t.builds.key {
			return nil // the build board is no cached row (builds.go)
		}
		if ownsKey(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("cachegen: InvalidateAll on %s: %w", t.spec.Table, err)
	}
	if t.near != nil {
		// Near caches may hold keys the store no longer lists (expired or
		// evicted there): they drop the table's whole prefix.
		if err := t.near.announce(ctx, []string{prefix + "*"}); err != nil {
			return fmt.Errorf("cachegen: InvalidateAll on %s: announce: %w", t.spec.Table, err)
		}
	}
	return t.invalidate(ctx, append(keys, t.allKey))
}

// invalidate drops keys the safe way, a lock and its release each; in a Tx
// the release waits for its end. Keys the store failed are retried in the
// background and reported.
func (t *Table[T]) invalidate(ctx context.Context, keys []string) error {
	if t.store == nil {
		return nil
	}
	start := time.Now()
	err := t.invalidateKeys(ctx, keys)
	if t.obs != nil {
		t.obs.emit(ctx, observe.Event{Kind: observe.EventWrite, Table: t.spec.Table, Op: "invalidate", Start: start, Duration: time.Since(start), Err: err})
	}
	return err
}

func (t *Table[T]) invalidateKeys(ctx context.Context, keys []string) error {
	if t.tx != nil {
		lockFailed := t.lock(ctx, keys)
		t.tx.onEnd(func() { t.release(context.WithoutCancel(ctx), keys, lockFailed) })
		return nil
	}
	var failed int
	var first error
	for _, k := range keys {
		if err := t.discardErr(ctx, k); err != nil {
			t.invalidationFailed(ctx, k, err, false)
			failed++
			first = cmp.Or(first, err)
			continue
		}
		t.stats.invalidations.Add(1)
	}
	if failed > 0 {
		return fmt.Errorf("cachegen: invalidate %s: %d of %d keys failed and will be retried: %w", t.spec.Table, failed, len(keys), first)
	}
	return nil
}
