package models_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/faultstore"
	"github.com/cachegen/cachegen/runtime"
)

// recorder keeps every event it observes.
type recorder struct {
	mu     sync.Mutex
	events []runtime.Event
}

func (r *recorder) Observe(_ context.Context, e runtime.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// take returns the events since the last take, as kind/index-or-op/outcome.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		s := e.Kind.String()
		switch e.Kind {
		case runtime.EventRead:
			s += "/" + e.Index + "/" + e.Outcome.String()
			if e.NotFound {
				s += "/not-found"
			}
		case runtime.EventWrite, runtime.EventStoreError, runtime.EventCorruptValue:
			s += "/" + e.Op
		}
		out = append(out, s)
	}
	r.events = nil
	return out
}

func TestObserverSeesEveryStep(t *testing.T) {
	ctx := context.Background()
	db, _ := openSQLite(t)
	faulty := faultstore.New(newMemory(t, ""))
	rec := &recorder{}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	users, err := models.NewUserRepo(db, faulty, runtime.WithPrefix(dbtest.UniqueName()), runtime.WithObserver(rec), runtime.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	u := &models.User{Email: "o@x.org", OrgID: 1, Handle: "o", Name: "O"}
	if err := users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	users.GetByID(ctx, u.ID)
	users.GetByID(ctx, u.ID)
	users.GetByEmail(ctx, "nobody@x.org")
	users.All(ctx)
	want := "write/save read/id/miss read/id/hit read/email/miss/not-found read/all/miss"
	if got := strings.Join(rec.take(), " "); got != want {
		t.Fatalf("events\n got %s\nwant %s", got, want)
	}

	faulty.SetDown(true)
	for i := 0; i < 6; i++ {
		if _, err := users.GetByID(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(rec.take(), " ")
	// The fifth error opens the breaker (reported as it happens, before the
	// error itself); the sixth read does not ask the store at all.
	want = strings.Repeat("store_error/get read/id/bypass ", 4) + "breaker_open store_error/get read/id/bypass read/id/bypass"
	if got != want {
		t.Fatalf("with the store down\n got %s\nwant %s", got, want)
	}
	if s := users.Stats(); !s.BreakerOpen || s.BreakerOpens != 1 {
		t.Fatalf("breaker not open in Stats: %+v", s)
	}
	for _, msg := range []string{"cachegen: store error", "circuit breaker open"} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("the log lacks %q:\n%s", msg, logs.String())
		}
	}
	if strings.Contains(logs.String(), "read") && strings.Contains(logs.String(), "outcome") {
		t.Errorf("reads were logged:\n%s", logs.String())
	}
}
