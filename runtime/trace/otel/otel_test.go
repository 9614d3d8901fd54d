package otel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/faultstore"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/memory"
	cgotel "github.com/cachegen/cachegen/runtime/trace/otel"
)

func setup(t *testing.T, store runtime.Store) (*model.UserRepo, *tracetest.SpanRecorder, trace.Tracer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	db, _ := dbtest.OpenSQLite(t)
	enginetest.CreateTables(t, db, "sqlite")
	users, err := model.NewUserRepo(db, store, runtime.WithPrefix(dbtest.UniqueName()),
		runtime.WithObserver(cgotel.New(cgotel.Options{TracerProvider: tp, DBSystem: "sqlite"})))
	if err != nil {
		t.Fatal(err)
	}
	return users, rec, tp.Tracer("test")
}

func newMemory(t *testing.T) runtime.Store {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// A miss then a hit, under a parent span: two spans, children of the
// parent, timed as the calls were, with the outcome of each.
func TestMissThenHit(t *testing.T) {
	users, rec, tracer := setup(t, newMemory(t))
	u := &model.User{Email: "t@x.org", OrgID: 1, Handle: "t", Name: "T"}
	if err := users.Save(context.Background(), u); err != nil { // no parent: a root span
		t.Fatal(err)
	}
	ctx, parent := tracer.Start(context.Background(), "request")
	before := time.Now()
	for range 2 {
		if _, err := users.GetByID(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := users.GetByEmail(ctx, "nobody@x.org"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatal(err)
	}
	after := time.Now()
	parent.End()

	spans := rec.Ended()
	if len(spans) != 5 {
		t.Fatalf("%d spans, want save, 3 reads and the parent", len(spans))
	}
	save := spans[0]
	if save.Name() != "cachegen save users" || save.Parent().IsValid() {
		t.Errorf("save span %q, parent %v", save.Name(), save.Parent())
	}
	if a := attrs(save); a[cgotel.OpKey].AsString() != "save" || a[cgotel.DBTimeKey].AsFloat64() <= 0 {
		t.Errorf("save attributes %v", a)
	}
	for i, want := range []struct {
		name, index, outcome string
		notFound             bool
	}{
		{"cachegen get users.id", "id", "miss", false},
		{"cachegen get users.id", "id", "hit", false},
		{"cachegen get users.email", "email", "miss", true},
	} {
		s := spans[1+i]
		if s.Name() != want.name {
			t.Errorf("span %d: %q, want %q", i, s.Name(), want.name)
		}
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("span %d: parent %v, want the request span %v", i, s.Parent().SpanID(), parent.SpanContext().SpanID())
		}
		a := attrs(s)
		if a[cgotel.TableKey].AsString() != "users" || a[cgotel.IndexKey].AsString() != want.index ||
			a[cgotel.OutcomeKey].AsString() != want.outcome || a[cgotel.NotFoundKey].AsBool() != want.notFound ||
			a[cgotel.DBSystemKey].AsString() != "sqlite" {
			t.Errorf("span %d attributes %v, want %+v", i, a, want)
		}
		if _, queried := a[cgotel.DBTimeKey]; queried != (want.outcome != "hit") {
			t.Errorf("span %d: db time %v on a %s", i, a[cgotel.DBTimeKey], want.outcome)
		}
		if s.StartTime().Before(before) || s.EndTime().After(after) || !s.EndTime().After(s.StartTime()) {
			t.Errorf("span %d runs %v–%v, outside the call %v–%v", i, s.StartTime(), s.EndTime(), before, after)
		}
		if s.Status().Code != codes.Unset || s.SpanKind() != trace.SpanKindInternal {
			t.Errorf("span %d: status %v, kind %v", i, s.Status(), s.SpanKind())
		}
	}
	if !spans[1].EndTime().Before(spans[2].StartTime()) && !spans[1].EndTime().Equal(spans[2].StartTime()) {
		t.Errorf("the hit started before the miss ended")
	}
}

// A failed call has an error status; store errors during a call are events
// on the caller's span; a delete of no row is not an error.
func TestErrorsAndStoreEvents(t *testing.T) {
	faulty := faultstore.New(newMemory(t))
	users, rec, tracer := setup(t, faulty)
	ctx, parent := tracer.Start(context.Background(), "request")
	faulty.SetDown(true)
	if _, err := users.GetByID(ctx, 42); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatal(err)
	}
	faulty.SetDown(false)
	if err := users.Delete(ctx, 42); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := users.GetByEmail(cctx, "x@x.org"); err == nil {
		t.Fatal("a read with a cancelled context succeeded")
	}
	parent.End()

	spans := rec.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans", len(spans))
	}
	read, del, failed, req := spans[0], spans[1], spans[2], spans[3]
	if a := attrs(read); a[cgotel.OutcomeKey].AsString() != "bypass" || !a[cgotel.NotFoundKey].AsBool() || read.Status().Code != codes.Unset {
		t.Errorf("read with the store down: %v %v", a, read.Status())
	}
	if a := attrs(del); del.Name() != "cachegen delete users" || !a[cgotel.NotFoundKey].AsBool() || del.Status().Code != codes.Unset {
		t.Errorf("delete of no row: %q %v %v", del.Name(), a, del.Status())
	}
	if failed.Status().Code != codes.Error || len(failed.Events()) == 0 || failed.Events()[0].Name != "exception" {
		t.Errorf("failed read: status %v, events %v", failed.Status(), failed.Events())
	}
	var storeErrors int
	for _, e := range req.Events() {
		if e.Name == "cachegen.store_error" {
			storeErrors++
		}
	}
	if storeErrors == 0 {
		t.Errorf("no store error event on the request span: %v", req.Events())
	}
}
