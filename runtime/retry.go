package runtime

import (
	"context"
	"sync"
	"time"
)

// retryQueue re-sends the invalidations a write could not deliver (the
// store was down or timed out). A retry is a lock and its release, the safe
// delete: it clears a stale value without ever dropping another writer's
// lock. The queue is bounded; what does not fit is dropped and counted, and
// its staleness is bounded by the value TTL.
type retryQueue struct {
	mu      sync.Mutex
	keys    []string
	running bool
	max     int
	discard func(ctx context.Context, key string) error
	stats   *counters
}

const (
	retryQueueMax   = 10000
	retryFirstPause = 20 * time.Millisecond
	retryMaxPause   = 2 * time.Second
)

// add queues key for another invalidation, starting the worker if needed.
func (q *retryQueue) add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.keys) >= q.max {
		q.stats.invalidationsDropped.Add(1)
		return
	}
	q.keys = append(q.keys, key)
	if !q.running {
		q.running = true
		go q.run()
	}
}

// run delivers the queued invalidations, backing off while the store keeps
// failing, and exits when the queue is empty.
func (q *retryQueue) run() {
	pause := retryFirstPause
	for {
		time.Sleep(pause)
		q.mu.Lock()
		keys := q.keys
		q.keys = nil
		q.mu.Unlock()

		var failed []string
		for _, k := range keys {
			q.stats.invalidationRetries.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := q.discard(ctx, k)
			cancel()
			if err != nil {
				failed = append(failed, k)
			} else {
				q.stats.invalidations.Add(1)
			}
		}

		q.mu.Lock()
		if len(failed) == 0 && len(q.keys) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		room := q.max - len(q.keys)
		if len(failed) > room {
			q.stats.invalidationsDropped.Add(uint64(len(failed) - room))
			failed = failed[:room]
		}
		q.keys = append(failed, q.keys...)
		q.mu.Unlock()
		if len(failed) > 0 {
			pause = min(pause*2, retryMaxPause)
		} else {
			pause = retryFirstPause
		}
	}
}

// pending returns how many invalidations wait for a retry.
func (q *retryQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.keys)
}
