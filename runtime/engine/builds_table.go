package engine

import (
	"context"

	"github.com/cachegen/cachegen/runtime/store"
)

// The table's hooks into the build board (builds.go). With no board every
// index is trusted and the epoch never changes: the table works as it
// would without one.

// initBuilds sets up the board when the caller's store holds one.
func (t *Table[T]) initBuilds(s store.Store) {
	if s == nil {
		return
	}
	t.builds = newBuilds(t, s)
	if t.builds == nil {
		return
	}
	t.builds.skip = t.breaker.isOpen
	t.builds.onEpoch = func(stamp [4]byte) {
		h := t.header
		for k := range stamp {
			h[1+k] ^= stamp[k]
		}
		t.hdr.Store(&h)
	}
}

// indexTrusted reports whether a read by index i may use the cache: every
// live build locks its keys on its writes. Otherwise it reads the database
// and fills nothing.
func (t *Table[T]) indexTrusted(ctx context.Context, i int) bool {
	if t.builds == nil || t.tx != nil {
		return true
	}
	if t.builds.trusts(ctx, i) {
		return true
	}
	t.stats.uncovered.Add(1)
	return false
}

// epochNow is the board's epoch when a database read begins.
func (t *Table[T]) epochNow() string {
	if t.builds == nil {
		return ""
	}
	return t.builds.epoch()
}

// stillTrusts reports whether what index i read from the database since
// epoch ep may be filled: the epoch has not moved on and the index is
// still trusted.
func (t *Table[T]) stillTrusts(i int, ep string) bool {
	return t.builds == nil || t.builds.stillTrusts(i, ep)
}

// beginWrite is called before a write's statements; done after its
// release.
func (t *Table[T]) beginWrite(ctx context.Context) (done func()) {
	if t.builds == nil {
		return func() {}
	}
	return t.builds.beginWrite(ctx)
}

// learnedKeys appends the keys of rows under other builds' indexes.
func (t *Table[T]) learnedKeys(keys []string, rows []*T) []string {
	if t.builds == nil || !t.builds.learnsAny() {
		return keys
	}
	vals := make([][]any, len(rows))
	for k, row := range rows {
		vals[k] = t.spec.Mapper.Values(row)
	}
	return t.builds.keys(keys, vals)
}
