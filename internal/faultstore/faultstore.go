// Package faultstore wraps a runtime.Store so tests can take it down and
// bring it back, as a network partition or a restarting server would.
package faultstore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/store"
)

// ErrDown is what every call returns while the store is down.
var ErrDown = errors.New("faultstore: store is down")

// Store forwards to the wrapped store unless it is down.
type Store struct {
	inner runtime.Store
	down  atomic.Bool
	calls atomic.Int64
}

// New wraps inner; the store starts up.
func New(inner runtime.Store) *Store { return &Store{inner: inner} }

// SetDown takes the store down (true) or brings it back (false). What the
// wrapped store held is kept, as across a partition.
func (s *Store) SetDown(down bool) { s.down.Store(down) }

// Calls returns how many calls reached the wrapper, failed ones included.
func (s *Store) Calls() int64 { return s.calls.Load() }

func (s *Store) fail() error {
	s.calls.Add(1)
	if s.down.Load() {
		return ErrDown
	}
	return nil
}

// Get forwards unless the store is down.
func (s *Store) Get(ctx context.Context, key string) (store.Entry, error) {
	if err := s.fail(); err != nil {
		return store.Entry{}, err
	}
	return s.inner.Get(ctx, key)
}

// Lease forwards unless the store is down.
func (s *Store) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	if err := s.fail(); err != nil {
		return false, store.Entry{}, err
	}
	return s.inner.Lease(ctx, key, token, ttl)
}

// Fill forwards unless the store is down.
func (s *Store) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	if err := s.fail(); err != nil {
		return false, err
	}
	return s.inner.Fill(ctx, key, token, e, ttl)
}

// Release forwards unless the store is down.
func (s *Store) Release(ctx context.Context, key, token string) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.inner.Release(ctx, key, token)
}

// Lock forwards unless the store is down.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.inner.Lock(ctx, key, ttl)
}

// Unlock forwards unless the store is down.
func (s *Store) Unlock(ctx context.Context, key string) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.inner.Unlock(ctx, key)
}

// Delete forwards unless the store is down.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.inner.Delete(ctx, key)
}
