package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cachegen/cachegen/runtime/observe"
)

// TestRetryQueueMergesHotKeys: many failed invalidations of one key take
// one place in the queue, and one delivered discard clears them all. It
// runs in a synctest bubble: the worker's pauses pass on the bubble's
// clock, and synctest.Wait returns once the worker is asleep again, so
// every step is checked exactly, on any machine.
func TestRetryQueueMergesHotKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var failing atomic.Bool
		failing.Store(true)
		var discards atomic.Int64
		var stats counters
		q := &retryQueue{max: 3, stats: &stats, notify: func(observe.EventKind, string, error) {},
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
		// The worker waits retryFirstPause, then tries each key once; the
		// failures double its pause.
		time.Sleep(retryFirstPause - time.Nanosecond)
		synctest.Wait()
		if d := discards.Load(); d != 0 {
			t.Fatalf("%d discards before the first pause ended", d)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if d := discards.Load(); d != 3 {
			t.Fatalf("%d discards after the first pause, want 3 (one per key)", d)
		}
		q.add("hot", false) // while the worker retries
		if n := q.queued(); n != 3 {
			t.Fatalf("queue holds %d entries after a failed round, want 3", n)
		}
		failing.Store(false)
		time.Sleep(2*retryFirstPause - time.Nanosecond)
		synctest.Wait()
		if d := discards.Load(); d != 3 {
			t.Fatalf("%d discards before the doubled pause ended, want 3", d)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait() // the worker delivers and, with nothing left, exits
		if d := discards.Load(); d != 6 {
			t.Fatalf("%d discards after delivery, want 6: one more per key", d)
		}
		for _, k := range []string{"hot", "b", "c"} {
			if q.isPending(k) {
				t.Fatalf("%s still pending after delivery: queue %d", k, q.queued())
			}
		}
		if d := stats.invalidationsDropped.Load(); d != 0 {
			t.Fatalf("%d invalidations dropped", d)
		}
		if d, r := stats.invalidations.Load(), stats.invalidationRetries.Load(); d != 3 || r != 6 {
			t.Fatalf("%d invalidations delivered in %d retries, want 3 in 6", d, r)
		}
	})
}
