package runtime

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetryQueueMergesHotKeys: many failed invalidations of one key take
// one place in the queue, and one delivered discard clears them all.
func TestRetryQueueMergesHotKeys(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	var discards atomic.Int64
	var stats counters
	q := &retryQueue{max: 3, stats: &stats, notify: func(EventKind, string, error) {},
		discard: func(context.Context, string) error {
			discards.Add(1)
			if failing.Load() {
				return errors.New("down")
			}
			return nil
		}}
	for i := 0; i < 100; i++ {
		q.add("hot", false)
	}
	q.add("b", false)
	q.add("c", false)
	if n := q.queued(); n != 3 {
		t.Fatalf("queue holds %d entries, want 3 (one per key)", n)
	}
	if d := stats.invalidationsDropped.Load(); d != 0 {
		t.Fatalf("%d invalidations dropped from a queue with room", d)
	}
	if !q.isPending("hot") {
		t.Fatal("a queued key is not pending")
	}
	time.Sleep(100 * time.Millisecond)
	q.add("hot", false) // while the worker retries
	failing.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for q.isPending("hot") || q.isPending("b") || q.isPending("c") {
		if time.Now().After(deadline) {
			t.Fatalf("still pending after delivery: queue %d, discards %d", q.queued(), discards.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := stats.invalidationsDropped.Load(); d != 0 {
		t.Fatalf("%d invalidations dropped", d)
	}
}
