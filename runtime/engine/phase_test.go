package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/memory"
	cachestore "github.com/cachegen/cachegen/runtime/store"
)

// A write's store phases: its locks before commit and its releases after
// are one call each, and a store that does not answer costs each phase its
// deadline, never more, and opens the breaker.

// phaseCounter counts a batching store's calls by method.
type phaseCounter struct {
	*memory.Store
	lockMany, unlockMany, lock, unlock atomic.Int64
	lockKeys, unlockKeys               atomic.Int64
}

func (s *phaseCounter) LockMany(ctx context.Context, ops []cachestore.LockOp) {
	s.lockMany.Add(1)
	s.lockKeys.Add(int64(len(ops)))
	s.Store.LockMany(ctx, ops)
}

func (s *phaseCounter) UnlockMany(ctx context.Context, ops []cachestore.UnlockOp) {
	s.unlockMany.Add(1)
	s.unlockKeys.Add(int64(len(ops)))
	s.Store.UnlockMany(ctx, ops)
}

func (s *phaseCounter) Lock(ctx context.Context, key string, ttl time.Duration) error {
	s.lock.Add(1)
	return s.Store.Lock(ctx, key, ttl)
}

func (s *phaseCounter) Unlock(ctx context.Context, key string) error {
	s.unlock.Add(1)
	return s.Store.Unlock(ctx, key)
}

func openPairs(t *testing.T, store runtime.Store, opts ...runtime.Option) *engine.Table[pair] {
	db, _ := dbtest.OpenSQLite(t)
	db.MustExec(`CREATE TABLE pairs (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT NOT NULL, UNIQUE (a, b))`)
	db.MustExec(`INSERT INTO pairs (id, a, b, v) VALUES (1, 1, 'x', 'v1')`)
	tbl, err := engine.NewTable(db, store, &pairSpec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// TestWritePhasesOneCallEach: an update that keeps its unique values locks
// its three keys (the pk, (a, b), All) in one LockMany, before its guarded
// UPDATE, and releases them in one UnlockMany. One that moves a unique value
// locks those three first too, then, once its transaction has read the old
// row, the old (a, b) in a second LockMany, and releases the four in one
// UnlockMany.
func TestWritePhasesOneCallEach(t *testing.T) {
	for _, c := range []struct {
		name string
		row  pair
		want [4]int64 // LockMany calls, keys; UnlockMany calls, keys
	}{
		{"unique kept", pair{ID: 1, A: 1, B: "x", V: "v2"}, [4]int64{1, 3, 1, 3}},
		{"unique moved", pair{ID: 1, A: 2, B: "y", V: "v2"}, [4]int64{2, 4, 1, 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := &phaseCounter{Store: m}
			tbl := openPairs(t, s)
			if err := tbl.Save(context.Background(), &c.row); err != nil {
				t.Fatal(err)
			}
			if got := [4]int64{s.lockMany.Load(), s.lockKeys.Load(), s.unlockMany.Load(), s.unlockKeys.Load()}; got != c.want {
				t.Errorf("Save: LockMany %d calls of %d keys, UnlockMany %d calls of %d keys; want %v", got[0], got[1], got[2], got[3], c.want)
			}
			if l, u := s.lock.Load(), s.unlock.Load(); l != 0 || u != 0 {
				t.Errorf("Save also called Lock %d and Unlock %d times, key by key", l, u)
			}
		})
	}
}

// hangingStore answers nothing until answer is set: every lock and unlock
// waits for its context to end. It does not batch, so the runtime's adapter
// sends the keys of a phase one by one. It counts the calls of write
// phases, told by their short deadline from the retry queue's, whose
// deadline is a second.
type hangingStore struct {
	runtime.Store
	calls  atomic.Int64
	answer atomic.Bool
}

func (s *hangingStore) hang(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 500*time.Millisecond {
		s.calls.Add(1)
	}
	if s.answer.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *hangingStore) Lock(ctx context.Context, _ string, _ time.Duration) error { return s.hang(ctx) }
func (s *hangingStore) Unlock(ctx context.Context, _ string) error                { return s.hang(ctx) }

// TestWritePhaseBounded: against a store that never answers, each phase
// sends one call (the keys after the first fail with the phase's deadline,
// unsent), the writes commit, and the deadlines count as store failures:
// the fifth phase opens the breaker (the third write's release is skipped)
// and a fourth write reaches the store no more. It runs in a synctest
// bubble: the deadlines pass on the bubble's clock, so the breaker's pause
// never runs out between the writes, however slow the machine.
func TestWritePhaseBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &hangingStore{}
		tbl := openPairs(t, s, runtime.WithPhaseTimeout(time.Millisecond))
		for i := range 3 {
			if err := tbl.Save(context.Background(), &pair{ID: 1, A: 1, B: "x", V: string(rune('a' + i))}); err != nil {
				t.Fatalf("Save %d: %v", i, err)
			}
		}
		if n := s.calls.Load(); n != 5 {
			t.Errorf("three Saves of three keys each sent %d calls to a store that never answers, want 5: one per phase until the breaker opened", n)
		}
		if st := tbl.Stats(); st.BreakerOpens != 1 || !st.BreakerOpen {
			t.Fatalf("after five phases ran out: %d breaker opens, open %v; want it open", st.BreakerOpens, st.BreakerOpen)
		}
		if err := tbl.Save(context.Background(), &pair{ID: 1, A: 1, B: "x", V: "d"}); err != nil {
			t.Fatal(err)
		}
		if n := s.calls.Load(); n != 5 {
			t.Errorf("with the breaker open a Save still reached the store (%d calls)", n)
		}
		// The store comes back: the retry queue's worker delivers the queued
		// invalidations once the breaker lets it probe, and exits, as every
		// goroutine of the bubble must before it ends.
		s.answer.Store(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := tbl.PendingInvalidations(); n != 0 {
			t.Fatalf("%d invalidations still pending after the store came back", n)
		}
	})
}
