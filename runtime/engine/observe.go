package engine

import (
	"context"
	"errors"
	"log/slog"

	"github.com/cachegen/cachegen/runtime/observe"
)

// WithObserver adds an observer of the repository's events. It may be given
// several times.
func WithObserver(o observe.Observer) Option {
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

func (o logObserver) Observe(ctx context.Context, e observe.Event) {
	switch e.Kind {
	case observe.EventStoreError:
		o.l.WarnContext(ctx, "cachegen: store error", "table", e.Table, "op", e.Op, "err", e.Err)
	case observe.EventBreakerOpen:
		o.l.ErrorContext(ctx, "cachegen: circuit breaker open: reads skip the store", "table", e.Table, "err", e.Err)
	case observe.EventBreakerClose:
		o.l.InfoContext(ctx, "cachegen: circuit breaker closed: the store answers again", "table", e.Table)
	case observe.EventInvalidationFailed:
		o.l.WarnContext(ctx, "cachegen: invalidation failed, queued for retry", "table", e.Table, "key", e.Key, "err", e.Err)
	case observe.EventInvalidationDropped:
		o.l.ErrorContext(ctx, "cachegen: invalidation dropped: retry queue full; the key may be stale until its TTL", "table", e.Table, "key", e.Key)
	case observe.EventCorruptValue:
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
type observers []observe.Observer

func (os observers) emit(ctx context.Context, e observe.Event) {
	for _, o := range os {
		o.Observe(ctx, e)
	}
}

// storeFailed counts and reports a failed store call.
func (s *state[T]) storeFailed(ctx context.Context, op string, err error) {
	s.stats.storeErrors.Add(1)
	if s.obs != nil && !errors.Is(err, errBreakerOpen) {
		s.obs.emit(ctx, observe.Event{Kind: observe.EventStoreError, Table: s.spec.Table, Op: op, Err: err})
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
		s.obs.emit(ctx, observe.Event{Kind: observe.EventCorruptValue, Table: s.spec.Table, Key: key, Op: reason, Err: err})
	}
}

// event reports a table-wide event (breaker, retry queue).
func (s *state[T]) event(kind observe.EventKind, key string, err error) {
	if s.obs != nil {
		s.obs.emit(context.Background(), observe.Event{Kind: kind, Table: s.spec.Table, Key: key, Err: err})
	}
}
