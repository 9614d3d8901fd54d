// Revalidate: the current validators of rows named by earlier ones, across tables, in one store round trip.

package engine

import (
	"context"
	"reflect"

	"github.com/cachegen/cachegen/runtime/store"
)

// revalidator is a table, as Revalidate reads validators from its cache.
type revalidator interface {
	// nearValidator answers key from the table's near cache: settled is
	// false when the store must be asked, ok false when the cache may not
	// answer key at all (a pending invalidation, an untrusted index, a
	// fresh read).
	nearValidator(ctx context.Context, key string) (v Validator, settled, ok bool)
	// storeValidator is the validator of what the store returned for key;
	// ok is false for anything but a row or a cached not-found that
	// decodes.
	storeValidator(ctx context.Context, key string, e store.Entry) (v Validator, ok bool)
	// batchStore is the table's store (behind its breaker) and the store
	// the caller passed, which tables share.
	batchStore() (store.BatchStore, store.Store)
}

// Revalidate returns the current validators of the rows that vs name, read
// from the near cache, then from the store: one round trip per store for
// every row of every table that is not in the near cache (tables made on
// one store share it). ok is false when one of them cannot be answered from
// the cache (a NoRow or a validator made without a store, which name no
// row; a key the store does not hold, or holds locked or leased; a failed
// store call; a fresh read or a pending invalidation): the caller then
// reads the rows through their repositories, which fall back to the
// database. It never fills the cache.
//
// A validator answered here is the one ValidatorOf gives for the row Get
// would return: NoRow for a cached not-found, else the hash of the cached
// row.
func Revalidate(ctx context.Context, vs []Validator) (cur []Validator, ok bool) {
	cur = make([]Validator, len(vs))
	type group struct {
		bs    store.BatchStore
		inner store.Store // the caller's store, which tables share
		ops   []store.GetOp
		at    []int // per op: its position in vs
	}
	var groups []*group // one per store, almost always one in all
	for k, v := range vs {
		if v.src == nil {
			return nil, false
		}
		nv, settled, ok := v.src.nearValidator(ctx, v.key)
		if !ok {
			return nil, false
		}
		if settled {
			cur[k] = nv
			continue
		}
		bs, inner := v.src.batchStore()
		var g *group
		for _, h := range groups {
			if sameStore(h.inner, inner) {
				g = h
				break
			}
		}
		if g == nil {
			g = &group{bs: bs, inner: inner}
			groups = append(groups, g)
		}
		g.ops = append(g.ops, store.GetOp{Key: v.key})
		g.at = append(g.at, k)
	}
	for _, g := range groups {
		g.bs.GetMany(ctx, g.ops)
		for j, op := range g.ops {
			v := vs[g.at[j]]
			if op.Err != nil {
				return nil, false
			}
			if cur[g.at[j]], ok = v.src.storeValidator(ctx, v.key, op.Entry); !ok {
				return nil, false
			}
		}
	}
	return cur, true
}

// sameStore reports whether a and b are one store; a store whose type
// cannot be compared batches alone.
func sameStore(a, b store.Store) bool {
	return reflect.TypeOf(a).Comparable() && a == b
}

func (t *Table[T]) nearValidator(ctx context.Context, key string) (Validator, bool, bool) {
	if !t.cacheable(ctx, key) || !t.indexTrusted(ctx, 0) {
		return Validator{}, false, false
	}
	if t.near == nil {
		return Validator{}, false, true
	}
	e, found := t.near.get(key, monoNow())
	if !found {
		return Validator{}, false, true
	}
	row, err := t.nearRow(e)
	if err != nil {
		return Validator{}, false, true // another build's entry: ask the store
	}
	v, err := t.validatorAt(key, row)
	return v, err == nil, err == nil
}

func (t *Table[T]) storeValidator(ctx context.Context, key string, e store.Entry) (Validator, bool) {
	switch e.Kind {
	case store.CachedNotFound:
		return Validator{sum: NoRow, src: t, key: key}, true
	case store.CachedRow:
		row := new(T)
		if err := t.decodeRow(key, e.Value, row); err != nil {
			return Validator{}, false // Get will discard it
		}
		v, err := t.validatorAt(key, row)
		return v, err == nil
	}
	return Validator{}, false
}

// validatorAt is the validator of row (nil: not found) read under key.
func (t *Table[T]) validatorAt(key string, row *T) (Validator, error) {
	v := Validator{sum: NoRow, src: t, key: key}
	if row == nil {
		return v, nil
	}
	var err error
	v.sum, err = t.sum(row)
	return v, err
}

func (t *Table[T]) batchStore() (store.BatchStore, store.Store) { return t.breaker, t.breaker.inner }
