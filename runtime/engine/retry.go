package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime/observe"
)

// retryQueue re-sends the invalidations a write could not deliver (the
// store was down or timed out). A retry is a lock and its release, the safe
// delete: it clears a stale value without ever dropping another writer's
// lock. The queue is bounded; what does not fit is dropped and counted, and
// its staleness is bounded by the value TTL.
//
// Until an invalidation is delivered its key is pending: reads of it in this
// process bypass the store, so a value the store kept through the outage is
// never served here after the write was acknowledged.
type retryQueue struct {
	mu       sync.Mutex
	keys     []string       // queued keys, each once
	merged   map[string]int // per queued key: the invalidations it stands for
	pending  map[string]int
	npending atomic.Int64 // len(pending), read without the lock on every read
	running  bool
	max      int
	discard  func(ctx context.Context, key string) error
	stats    *counters
	notify   func(kind observe.EventKind, key string, err error)
}

const (
	retryQueueMax   = 10000
	retryFirstPause = 20 * time.Millisecond
	retryMaxPause   = 2 * time.Second
)

// isPending reports whether key waits for an invalidation.
func (q *retryQueue) isPending(key string) bool {
	if q.npending.Load() == 0 {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending[key] > 0
}

// hold marks key pending before its invalidation can be queued: a write
// could not lock it, and it may hold the old row until after the commit.
func (q *retryQueue) hold(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inc(key)
}

// unhold drops the pending mark hold set, once the key was invalidated
// after all.
func (q *retryQueue) unhold(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dec(key)
}

// add queues key for another invalidation, starting the worker if needed.
// held says hold(key) was already called for it.
func (q *retryQueue) add(key string, held bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !held {
		q.inc(key)
	}
	// One discard after the latest commit covers every invalidation of the
	// key queued so far: hot keys take one place in the queue, not many.
	if q.merged[key] > 0 {
		q.merged[key]++
		return
	}
	if len(q.keys) >= q.max {
		q.stats.invalidationsDropped.Add(1)
		q.dec(key)
		q.notify(observe.EventInvalidationDropped, key, nil)
		return
	}
	q.keys = append(q.keys, key)
	if q.merged == nil {
		q.merged = map[string]int{}
	}
	q.merged[key] = 1
	if !q.running {
		q.running = true
		go q.run()
	}
}

// inc and dec count the pending invalidations of a key; mu must be held.
func (q *retryQueue) inc(key string) {
	if q.pending == nil {
		q.pending = map[string]int{}
	}
	q.pending[key]++
	q.npending.Store(int64(len(q.pending)))
}

func (q *retryQueue) dec(key string) {
	if q.pending[key]--; q.pending[key] <= 0 {
		delete(q.pending, key)
	}
	q.npending.Store(int64(len(q.pending)))
}

// run delivers the queued invalidations, backing off while the store keeps
// failing, and exits when the queue is empty.
func (q *retryQueue) run() {
	pause := retryFirstPause
	for {
		time.Sleep(pause)
		// Take the queue and what each key stands for; invalidations added
		// from now on queue the key anew, since a discard already under way
		// may run before their commits.
		q.mu.Lock()
		keys := q.keys
		counts := make(map[string]int, len(keys))
		for _, k := range keys {
			counts[k] = q.merged[k]
			delete(q.merged, k)
		}
		q.keys = nil
		q.mu.Unlock()

		var failed []string
		for _, k := range keys {
			q.stats.invalidationRetries.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := q.discard(ctx, k)
			cancel()
			q.notify(observe.EventInvalidationRetried, k, err)
			if err != nil {
				failed = append(failed, k)
				continue
			}
			q.stats.invalidations.Add(1)
			q.mu.Lock()
			for range counts[k] {
				q.dec(k)
			}
			q.mu.Unlock()
		}

		q.mu.Lock()
		if len(failed) == 0 && len(q.keys) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		var dropped, requeue []string
		for _, k := range failed {
			switch {
			case q.merged[k] > 0: // queued again meanwhile: one entry serves both
				q.merged[k] += counts[k]
			case len(q.keys)+len(requeue) >= q.max:
				q.stats.invalidationsDropped.Add(uint64(counts[k]))
				for range counts[k] {
					q.dec(k)
				}
				dropped = append(dropped, k)
			default:
				requeue = append(requeue, k)
				q.merged[k] = counts[k]
			}
		}
		q.keys = append(requeue, q.keys...)
		q.mu.Unlock()
		for _, k := range dropped {
			q.notify(observe.EventInvalidationDropped, k, nil)
		}
		if len(failed) > 0 {
			pause = min(pause*2, retryMaxPause)
		} else {
			pause = retryFirstPause
		}
	}
}

// queued returns how many invalidations wait for a retry.
func (q *retryQueue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.keys)
}
