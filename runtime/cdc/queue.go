package cdc

import (
	"context"
	"sync"
)

// readQueue holds the transactions a session's reader received and its
// applier has not applied yet: at most limit row changes (a transaction
// counts one more, so empty ones count too), or a single transaction of
// any size when nothing else is held.
type readQueue struct {
	limit int

	mu    sync.Mutex
	held  int           // weight of the batches received and not done
	ready []*Batch      // received, not yet taken
	err   error         // what ended the reader, once ready is empty
	wake  chan struct{} // the applier: something to take
	space chan struct{} // the reader: weight was given back
}

func newReadQueue(limit int) *readQueue {
	return &readQueue{limit: limit, wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

func weight(b *Batch) int { return len(b.Changes) + 1 }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// read calls Next until it fails (ctx ending included), waiting for room
// before each batch it hands over.
func (q *readQueue) read(ctx context.Context, src Source) {
	for {
		b, err := src.Next(ctx)
		if err != nil {
			q.mu.Lock()
			q.err = err
			q.mu.Unlock()
			signal(q.wake)
			return
		}
		for {
			q.mu.Lock()
			if q.held == 0 || q.held+weight(b) <= q.limit {
				q.held += weight(b)
				q.ready = append(q.ready, b)
				q.mu.Unlock()
				signal(q.wake)
				break
			}
			q.mu.Unlock()
			select {
			case <-q.space:
			case <-ctx.Done():
				return
			}
		}
	}
}

// take waits for at least one transaction and returns every one received
// so far, in commit order; or the reader's error once none is left.
func (q *readQueue) take(ctx context.Context) ([]*Batch, error) {
	for {
		q.mu.Lock()
		group, err := q.ready, q.err
		q.ready = nil
		q.mu.Unlock()
		if len(group) > 0 {
			return group, nil
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// done gives back the room a group took, once it is applied.
func (q *readQueue) done(group []*Batch) {
	n := 0
	for _, b := range group {
		n += weight(b)
	}
	q.mu.Lock()
	q.held -= n
	q.mu.Unlock()
	signal(q.space)
}
