package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.BoardStore = (*Store)(nil)

// boardTries bounds how often UpdateBoard retries when other runtimes
// changed the board between its read and its write.
const boardTries = 16

// UpdateBoard implements store.BoardStore with an optimistic transaction
// on the one key (WATCH, GET, MULTI/SET/EXEC), so a Cluster runs it on the
// key's node unchanged. A key of another type reads as absent and is
// replaced.
func (s *Store) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func(cur []byte) ([]byte, error)) error {
	ctx, ms, err := checkTTL(ctx, keep)
	if err != nil {
		return err
	}
	for range boardTries {
		err := s.c.Watch(ctx, func(tx *goredis.Tx) error {
			cur, err := tx.Get(ctx, key).Bytes()
			switch {
			case errors.Is(err, goredis.Nil), isWrongType(err):
				cur = nil
			case err != nil:
				return err
			}
			next, err := fn(cur)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.Set(ctx, key, next, time.Duration(ms)*time.Millisecond)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, goredis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("redis: board %s changed under %d tries in a row", key, boardTries)
}
