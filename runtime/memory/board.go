package memory

import (
	"context"
	"sync"
	"time"

	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.BoardStore = (*Store)(nil)

// boards holds the tables' build boards, apart from the cache: they are
// never evicted, and InvalidateAll does not list them.
type boards struct {
	mu sync.Mutex
	m  map[string]board
}

type board struct {
	b        []byte
	deadline int64 // Store.now() at which it lapses
}

// UpdateBoard implements store.BoardStore: fn runs under the store's
// board lock, so no retry is ever needed.
func (s *Store) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func(cur []byte) ([]byte, error)) error {
	if err := check(ctx, keep); err != nil {
		return err
	}
	s.boards.mu.Lock()
	defer s.boards.mu.Unlock()
	if s.boards.m == nil {
		s.boards.m = map[string]board{}
	}
	now := s.now()
	var cur []byte
	if bd, ok := s.boards.m[key]; ok && now < bd.deadline {
		cur = bd.b
	}
	next, err := fn(cur)
	if err != nil {
		return err
	}
	s.boards.m[key] = board{b: next, deadline: deadline(now, keep)}
	return nil
}
