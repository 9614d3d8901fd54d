// Package observe is for observers of the repositories cachegen
// generates: metrics, logs and traces. An Observer, given to a repository
// with runtime.WithObserver, receives an Event for each read, write and
// fault, its EventKind and, for reads, the Outcome. Packages
// runtime/metrics/prom and runtime/trace/otel are ready-made observers.
package observe

import (
	"context"
	"time"
)

// Observer receives what repositories do, for metrics, logs and traces
// (runtime/metrics/prom and runtime/trace/otel implement it;
// runtime.WithLogger logs through one). Observe is called synchronously at the end of each
// event, so it must be quick and safe for concurrent use; it must not keep
// the Event's Err beyond the call unless it copies what it needs. A
// repository without observers pays nothing for them.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// EventKind says what an Event reports.
type EventKind uint8

// The events.
const (
	EventRead                EventKind = iota + 1 // a Get or All call ended
	EventWrite                                    // a Save, Delete or Invalidate call ended
	EventStoreError                               // a store call failed; Op names it
	EventBreakerOpen                              // repeated store errors opened the circuit breaker
	EventBreakerClose                             // a successful probe closed it
	EventInvalidationFailed                       // a write could not invalidate Key now; it will be retried
	EventInvalidationRetried                      // a missed invalidation of Key was sent again (Err: it failed again)
	EventInvalidationDropped                      // the retry queue was full: Key's invalidation was given up
	EventCorruptValue                             // the bytes under Key could not be read; Op says why
)

var eventNames = [...]string{"", "read", "write", "store_error", "breaker_open", "breaker_close",
	"invalidation_failed", "invalidation_retried", "invalidation_dropped", "corrupt_value"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "event"
}

// Outcome says how the cache took part in a read.
type Outcome uint8

// The outcomes of a read.
const (
	OutcomeNone    Outcome = iota
	OutcomeHit             // the store answered: a value or a cached not-found
	OutcomeMiss            // the database answered under a fill lease; the answer was cached if it could be
	OutcomeBypass          // the database answered and nothing was filled: a writer's lock, another reader's lease, a pending invalidation, a transaction, a store error or no store
	OutcomeNearHit         // the near cache answered, without asking the store
)

var outcomeNames = [...]string{"none", "hit", "miss", "bypass", "near_hit"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome"
}

// Event is one thing a repository did.
type Event struct {
	Kind     EventKind
	Table    string
	Index    string        // EventRead: the index looked up ("id", "email", a group name) or "all"
	Op       string        // EventWrite: save, delete or invalidate; EventStoreError: the store call; EventCorruptValue: foreign, schema or decode
	Outcome  Outcome       // EventRead
	NotFound bool          // EventRead: no row answered
	Start    time.Time     // EventRead, EventWrite: when the call began
	Duration time.Duration // EventRead, EventWrite: the whole call
	DBTime   time.Duration // EventRead, EventWrite: the part spent in the database
	Key      string        // the key, for the events about one key
	Err      error         // the error, if any (runtime.ErrNotFound is not one: see NotFound)
}
