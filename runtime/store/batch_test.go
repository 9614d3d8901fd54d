package store

import (
	"context"
	"testing"
	"time"
)

// singleKeyStore is a Store without batches that holds a build board, as
// the memcached store is.
type singleKeyStore struct {
	Store
	updated int
}

func (s *singleKeyStore) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func([]byte) ([]byte, error)) error {
	s.updated++
	_, err := fn(nil)
	return err
}

// TestBatchKeepsTheBoard: the one-by-one adapter of a store without batches
// still holds its build board, so a runtime reaching the store through it
// stamps values with the board's epoch like every other runtime.
func TestBatchKeepsTheBoard(t *testing.T) {
	s := &singleKeyStore{}
	b, ok := Batched(s).(BoardStore)
	if !ok {
		t.Fatal("Batched hid the store's build board")
	}
	if err := b.UpdateBoard(context.Background(), "k", time.Second, func([]byte) ([]byte, error) { return nil, nil }); err != nil || s.updated != 1 {
		t.Fatalf("UpdateBoard through the adapter: %v, %d calls", err, s.updated)
	}
	if _, ok := Batched(struct{ Store }{}).(BoardStore); ok {
		t.Fatal("a store without a board gained one through Batched")
	}
}
