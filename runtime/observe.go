package runtime

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Observer receives what repositories do, for metrics, logs and traces
// (runtime/metrics/prom and runtime/trace/otel implement it; WithLogger
// logs through one). Observe is called synchronously at the end of each
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
	Err      error         // the error, if any (ErrNotFound is not one: see NotFound)
}

// WithObserver adds an observer of the repository's events. It may be given
// several times.
func WithObserver(o Observer) Option {
	return func(opts *options) {
		if o == nil {
			opts.fail("WithObserver", "nil", "want an Observer")
			return
		}
		opts.observers = append(opts.observers, o)
	}
}

// WithLogger logs what an operator must know through l: store errors,
// circuit breaker changes, invalidations that failed or were dropped, and
// values that could not be read (corrupt or foreign bytes; values of
// another build of the model are logged at debug level only). Reads and
// writes are not logged. Without it the runtime is silent.
func WithLogger(l *slog.Logger) Option {
	if l == nil {
		return func(o *options) { o.fail("WithLogger", "nil", "want a *slog.Logger") }
	}
	return WithObserver(logObserver{l})
}

type logObserver struct{ l *slog.Logger }

func (o logObserver) Observe(ctx context.Context, e Event) {
	switch e.Kind {
	case EventStoreError:
		o.l.WarnContext(ctx, "cachegen: store error", "table", e.Table, "op", e.Op, "err", e.Err)
	case EventBreakerOpen:
		o.l.ErrorContext(ctx, "cachegen: circuit breaker open: reads skip the store", "table", e.Table, "err", e.Err)
	case EventBreakerClose:
		o.l.InfoContext(ctx, "cachegen: circuit breaker closed: the store answers again", "table", e.Table)
	case EventInvalidationFailed:
		o.l.WarnContext(ctx, "cachegen: invalidation failed, queued for retry", "table", e.Table, "key", e.Key, "err", e.Err)
	case EventInvalidationDropped:
		o.l.ErrorContext(ctx, "cachegen: invalidation dropped: retry queue full; the key may be stale until its TTL", "table", e.Table, "key", e.Key)
	case EventCorruptValue:
		if e.Op == "schema" {
			// Expected on every read the two builds share while a deploy
			// runs: counted in Stats.OtherSchema, logged only for debugging.
			o.l.DebugContext(ctx, "cachegen: cached value of another build of the model; treated as a miss and refilled", "table", e.Table, "key", e.Key)
			return
		}
		o.l.WarnContext(ctx, "cachegen: cached value could not be decoded; treated as a miss", "table", e.Table, "key", e.Key, "reason", e.Op, "err", e.Err)
	}
}

// observers fans events out; nil when there are none.
type observers []Observer

func (os observers) emit(ctx context.Context, e Event) {
	for _, o := range os {
		o.Observe(ctx, e)
	}
}

// storeFailed counts and reports a failed store call.
func (s *state[T]) storeFailed(ctx context.Context, op string, err error) {
	s.stats.storeErrors.Add(1)
	if s.obs != nil && !errors.Is(err, errBreakerOpen) {
		s.obs.emit(ctx, Event{Kind: EventStoreError, Table: s.spec.Table, Op: op, Err: err})
	}
}

// corrupt counts and reports bytes under key that could not be read. A
// value of another schema is counted apart: during a deploy the builds
// share keys, and each reads the other's values as misses.
func (s *state[T]) corrupt(ctx context.Context, key, reason string, err error) {
	if reason == "schema" {
		s.stats.otherSchema.Add(1)
	} else {
		s.stats.corruptValues.Add(1)
	}
	if s.obs != nil {
		s.obs.emit(ctx, Event{Kind: EventCorruptValue, Table: s.spec.Table, Key: key, Op: reason, Err: err})
	}
}

// event reports a table-wide event (breaker, retry queue).
func (s *state[T]) event(kind EventKind, key string, err error) {
	if s.obs != nil {
		s.obs.emit(context.Background(), Event{Kind: kind, Table: s.spec.Table, Key: key, Err: err})
	}
}
