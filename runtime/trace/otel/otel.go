// Package otel traces cachegen repositories with OpenTelemetry: one span per
// Get, All, Save, Delete and Invalidate call, with the cache's part in it.
// It lives in a package of its own so that the runtime never imports
// OpenTelemetry, and a repository made without it pays nothing.
//
//	tracer := otel.New(otel.Options{DBSystem: "postgresql"})
//	users, err := models.NewUserRepo(db, store, runtime.WithObserver(tracer))
//
// The span of a call is made when the call ends, from the runtime's event,
// with the call's start and end times; its parent is the span in the
// call's context. Because it is made afterwards, spans started during the
// call (by an instrumented database driver, say) are its siblings, not its
// children.
//
// Attributes: cachegen.table, cachegen.index (reads), cachegen.op (writes),
// cachegen.outcome (reads: hit, miss or bypass), cachegen.not_found,
// cachegen.db_time_ms (when the database was used) and db.system.name
// (when Options.DBSystem is set), set once the span is known to record
// (so a sampler does not see them; a no-op provider or a span not sampled
// costs no attributes). A call that failed has an error status
// and the error recorded; a not-found answer is not an error. Store errors,
// unreadable cached values and failed invalidations during a call are added
// as events (cachegen.store_error, cachegen.corrupt_value,
// cachegen.invalidation_failed) to the span in the call's context. Keys and
// values never appear: they may hold personal data.
package otel

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/observe"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/cachegen/cachegen/runtime/trace/otel"

// The attribute keys.
const (
	TableKey    = attribute.Key("cachegen.table")
	IndexKey    = attribute.Key("cachegen.index")
	OpKey       = attribute.Key("cachegen.op")
	OutcomeKey  = attribute.Key("cachegen.outcome")
	NotFoundKey = attribute.Key("cachegen.not_found")
	DBTimeKey   = attribute.Key("cachegen.db_time_ms")
	DBSystemKey = attribute.Key("db.system.name")
	ReasonKey   = attribute.Key("cachegen.reason")
)

// Options configure a Tracer.
type Options struct {
	// TracerProvider makes the tracer; nil: the global provider
	// (go.opentelemetry.io/otel.GetTracerProvider), which follows a
	// provider set later with SetTracerProvider.
	TracerProvider trace.TracerProvider
	// DBSystem, when set, is the db.system.name attribute of every span:
	// "postgresql", "mysql", "mariadb", "sqlite".
	DBSystem string
}

// Tracer makes the spans. It implements observe.Observer; give it to
// repositories with runtime.WithObserver. It is safe for concurrent use.
type Tracer struct {
	tracer   trace.Tracer
	dbSystem string

	mu    sync.Mutex
	names atomic.Pointer[map[nameKey]string]
}

type nameKey struct {
	kind             observe.EventKind
	table, indexOrOp string
}

// New returns a Tracer.
func New(o Options) *Tracer {
	tp := o.TracerProvider
	if tp == nil {
		tp = gotel.GetTracerProvider()
	}
	return &Tracer{tracer: tp.Tracer(ScopeName), dbSystem: o.DBSystem}
}

var _ observe.Observer = (*Tracer)(nil)

// Observe makes the span of a read or a write that ended, and adds other
// events to the span in ctx. It implements observe.Observer.
func (t *Tracer) Observe(ctx context.Context, e observe.Event) {
	switch e.Kind {
	case observe.EventRead, observe.EventWrite:
		t.span(ctx, e)
	case observe.EventStoreError, observe.EventCorruptValue, observe.EventInvalidationFailed:
		span := trace.SpanFromContext(ctx)
		if !span.IsRecording() {
			return
		}
		attrs := []attribute.KeyValue{TableKey.String(e.Table)}
		switch e.Kind {
		case observe.EventStoreError:
			attrs = append(attrs, OpKey.String(e.Op))
		case observe.EventCorruptValue:
			attrs = append(attrs, ReasonKey.String(e.Op))
		}
		if e.Err != nil {
			attrs = append(attrs, attribute.String("exception.message", e.Err.Error()))
		}
		span.AddEvent("cachegen."+e.Kind.String(), trace.WithAttributes(attrs...))
	}
}

func (t *Tracer) span(ctx context.Context, e observe.Event) {
	index := e.Index
	if e.Kind == observe.EventWrite {
		index = e.Op
	}
	_, span := t.tracer.Start(ctx, t.name(e.Kind, e.Table, index), trace.WithTimestamp(e.Start),
		trace.WithSpanKind(trace.SpanKindInternal))
	end := trace.WithTimestamp(e.Start.Add(e.Duration))
	if !span.IsRecording() { // a no-op provider, or not sampled: no attributes to build
		span.End(end)
		return
	}
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, TableKey.String(e.Table))
	if e.Kind == observe.EventRead {
		attrs = append(attrs, IndexKey.String(e.Index), OutcomeKey.String(e.Outcome.String()), NotFoundKey.Bool(e.NotFound))
	} else {
		notFound := errors.Is(e.Err, runtime.ErrNotFound)
		attrs = append(attrs, OpKey.String(e.Op), NotFoundKey.Bool(notFound))
		if notFound {
			e.Err = nil
		}
	}
	if e.DBTime > 0 {
		attrs = append(attrs, DBTimeKey.Float64(float64(e.DBTime)/1e6))
	}
	if t.dbSystem != "" {
		attrs = append(attrs, DBSystemKey.String(t.dbSystem))
	}
	span.SetAttributes(attrs...)
	if e.Err != nil {
		span.RecordError(e.Err)
		span.SetStatus(codes.Error, e.Err.Error())
	}
	span.End(end)
}

// name returns the span name, "cachegen get users.email", "cachegen all
// users" or "cachegen save users", made once per table and index or op.
func (t *Tracer) name(kind observe.EventKind, table, indexOrOp string) string {
	k := nameKey{kind, table, indexOrOp}
	if m := t.names.Load(); m != nil {
		if n, ok := (*m)[k]; ok {
			return n
		}
	}
	var n string
	switch {
	case kind == observe.EventRead && indexOrOp == "all":
		n = "cachegen all " + table
	case kind == observe.EventRead:
		n = "cachegen get " + table + "." + indexOrOp
	default:
		n = "cachegen " + indexOrOp + " " + table
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.names.Load()
	m := map[nameKey]string{}
	if old != nil {
		m = maps.Clone(*old)
	}
	m[k] = n
	t.names.Store(&m)
	return n
}
