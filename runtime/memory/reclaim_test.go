package memory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime"
)

// Expired entries must leave otter too, not only look absent: leases and
// locks weigh nothing, so size eviction would never reclaim them.
func TestExpiredEntriesAreReclaimed(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const ttl = 50 * time.Millisecond
	for i := range 100 {
		k := fmt.Sprint(i)
		switch i % 4 {
		case 0:
			s.Lease(ctx, k, "t", ttl)
		case 1:
			s.Lease(ctx, k, "t", time.Hour)
			s.Fill(ctx, k, "t", runtime.Entry{Kind: runtime.Value, Value: []byte("v")}, ttl)
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
	// otter drops them after the deadline plus reclaimGrace
	limit := time.Now().Add(ttl + reclaimGrace + 5*time.Second)
	for s.c.CleanUp(); s.c.EstimatedSize() > 0; s.c.CleanUp() {
		if time.Now().After(limit) {
			t.Fatalf("%d expired entries still held", s.c.EstimatedSize())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An entry is absent from its deadline on, before otter drops it.
func TestDeadlineIsExact(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	start := time.Now()
	if err := s.Lock(ctx, "k", 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	// unless the machine stalled for most of the grace, otter still holds it
	if _, ok := s.c.GetIfPresent("k"); !ok && time.Since(start) < reclaimGrace/2 {
		t.Fatal("otter dropped the entry before its grace ran out")
	}
	if e, _ := s.Get(ctx, "k"); e.Kind != runtime.Absent {
		t.Errorf("expired lock reads as %v", e.Kind)
	}
	if ok, _, _ := s.Lease(ctx, "k", "t", time.Hour); !ok {
		t.Error("Lease on an expired lock failed")
	}
}
