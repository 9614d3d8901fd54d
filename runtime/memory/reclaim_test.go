package memory

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cachegen/cachegen/runtime/store"
)

// The tests here run in synctest bubbles: the store's deadlines and otter's
// periodic clean-up both read the bubble's clock, which time.Sleep moves
// without waiting, so each step is checked at an exact instant.

// Expired entries must leave otter too, not only look absent: leases and
// locks weigh nothing, so size eviction would never reclaim them.
func TestExpiredEntriesAreReclaimed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close() // otter's clean-up goroutine must end inside the bubble
		ctx := context.Background()
		const ttl = 50 * time.Millisecond
		for i := range 100 {
			k := fmt.Sprint(i)
			switch i % 4 {
			case 0:
				s.Lease(ctx, k, "t", ttl)
			case 1:
				s.Lease(ctx, k, "t", time.Hour)
				s.Fill(ctx, k, "t", store.Entry{Kind: store.CachedRow, Value: []byte("v")}, ttl)
			case 2:
				s.Lock(ctx, k, ttl)
			case 3:
				// a decrement keeps the deadline
				s.Lock(ctx, k, ttl)
				s.Lock(ctx, k, ttl)
				s.Unlock(ctx, k)
			}
		}
		if n := s.c.EstimatedSize(); n != 100 {
			t.Fatalf("%d entries, want 100", n)
		}
		// otter keeps them until the deadline plus reclaimGrace...
		time.Sleep(ttl + reclaimGrace - 1)
		s.c.CleanUp()
		if n := s.c.EstimatedSize(); n != 100 {
			t.Fatalf("%d entries left 1ns before the grace ran out, want 100", n)
		}
		// ...and its periodic clean-up (once a second) drops them after,
		// with no call to the store.
		time.Sleep(time.Second + 1)
		synctest.Wait()
		if n := s.c.EstimatedSize(); n != 0 {
			t.Fatalf("%d expired entries still held a second after the grace ran out", n)
		}
	})
}

// An entry is absent from its deadline on, before otter drops it.
func TestDeadlineIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		const ttl = 30 * time.Millisecond
		if err := s.Lock(ctx, "k", ttl); err != nil {
			t.Fatal(err)
		}
		time.Sleep(ttl - time.Nanosecond)
		if e, _ := s.Get(ctx, "k"); e.Kind != store.Locked {
			t.Fatalf("1ns before its deadline the lock reads as %v", e.Kind)
		}
		time.Sleep(time.Nanosecond)
		if _, ok := s.c.GetIfPresent("k"); !ok {
			t.Fatal("otter dropped the entry before its grace ran out")
		}
		if e, _ := s.Get(ctx, "k"); e.Kind != store.Absent {
			t.Errorf("expired lock reads as %v", e.Kind)
		}
		if ok, _, _ := s.Lease(ctx, "k", "t", time.Hour); !ok {
			t.Error("Lease on an expired lock failed")
		}
	})
}
