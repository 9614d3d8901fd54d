package memcached

import (
	"context"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.BoardStore = (*Store)(nil)

// UpdateBoard implements store.BoardStore on one item: a gets, then a
// cas (an add when the key is absent), retried when the item changed in
// between. The board's bytes are stored as they are, without the deadline
// header of the store's entries: only UpdateBoard reads them.
func (s *Store) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func(cur []byte) ([]byte, error)) error {
	ctx, ms, err := checkTTL(ctx, keep)
	if err != nil {
		return err
	}
	mk := encodeKey(key)
	return retry(ctx, "board", func() (bool, error) {
		it, err := s.get(mk)
		if err != nil {
			return false, err
		}
		var cur []byte
		write := s.c.Add
		if it != nil {
			cur, write = it.Value, s.c.CompareAndSwap
		} else {
			it = &memcache.Item{Key: mk}
		}
		next, err := fn(cur)
		if err != nil {
			return false, err
		}
		now := nowMilli()
		it.Value, it.Expiration, it.Flags = next, expiration(now, now+ms), 0
		if err := write(it); err != nil {
			if changed(err) {
				return false, nil
			}
			return false, err
		}
		return true, nil
	})
}
