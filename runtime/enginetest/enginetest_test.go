package enginetest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/faultstore"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/observe"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
)

// TestEngine runs the suite on every database with every store, and on
// PostgreSQL + Redis with a near cache.
func TestEngine(t *testing.T) {
	for _, p := range append(pairs.All(), pairs.WithNear()...) {
		t.Run(p.Name, func(t *testing.T) { Run(t, p) })
	}
}

func openSQLite(t *testing.T) (*sqlx.DB, *dbtest.Counter) {
	t.Helper()
	db, count := dbtest.OpenSQLite(t)
	CreateTables(t, db, "sqlite")
	return db, count
}

// TestRedisUnreachable: a Redis that refuses connections from the start
// costs reads nothing but a fall back to the database, and writes succeed.
func TestRedisUnreachable(t *testing.T) {
	ctx := context.Background()
	db, count := openSQLite(t)
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	store, err := cgredis.New(client, cgredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, db, count, store, dbtest.UniqueName())
	u := mustSaveUser(t, e, "nowhere@x.org", 1, "n")
	for i := 0; i < 2; i++ {
		if got, err := e.users.GetByEmail(ctx, "nowhere@x.org"); err != nil || got.ID != u.ID {
			t.Fatalf("read %d: %+v, %v", i, got, err)
		}
	}
	if err := e.users.Delete(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.users.GetByID(ctx, u.ID)
	wantNotFound(t, "after delete", err)
	s := e.users.Stats()
	if s.StoreErrors == 0 || s.Hits != 0 || s.DBReads != 3 {
		t.Fatalf("stats %+v: want store errors, no hits and 3 database reads", s)
	}
}

// recorder keeps every event it observes.
type recorder struct {
	mu     sync.Mutex
	events []observe.Event
}

func (r *recorder) Observe(_ context.Context, e observe.Event) {
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
		case observe.EventRead:
			s += "/" + e.Index + "/" + e.Outcome.String()
			if e.NotFound {
				s += "/not-found"
			}
		case observe.EventWrite, observe.EventStoreError, observe.EventCorruptValue:
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
	faulty := faultstore.New(pairs.Memory(t, ""))
	rec := &recorder{}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	users, err := model.NewUserRepo(db, faulty, runtime.WithPrefix(dbtest.UniqueName()), runtime.WithObserver(rec), runtime.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	u := &model.User{Email: "o@x.org", OrgID: 1, Handle: "o", Name: "O"}
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

// TestWithVerify: repositories made WithVerify start on the model's schema
// on every database, and refuse tables whose unique columns have no unique
// constraint (lookups by email could then answer any of several rows),
// naming the column and the DDL that fixes it. Without the option the same
// table is accepted: the check is opt-in.
func TestWithVerify(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			schema, err := model.Schema(d.Name)
			if err != nil {
				t.Fatal(err)
			}
			db, _ := d.Open(t)
			mustExec(t, db, schema...)
			if _, err := model.NewRepos(db, nil, runtime.WithVerify()); err != nil {
				t.Fatalf("the model's own schema: %v", err)
			}

			broken, _ := d.Open(t)
			for _, stmt := range schema {
				// users.email, posts.slug and wides.code lose their UNIQUE.
				mustExec(t, broken, strings.ReplaceAll(stmt, "NOT NULL UNIQUE,", "NOT NULL,"))
			}
			_, err = model.NewUserRepo(broken, nil, runtime.WithVerify())
			if !errors.Is(err, runtime.ErrSchemaMismatch) {
				t.Fatalf("email without a unique constraint: %v, want ErrSchemaMismatch", err)
			}
			for _, want := range []string{"users.email: unique tag has no unique constraint", "CREATE UNIQUE INDEX users_email_key ON users (email)"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if _, err := model.NewUserRepo(broken, nil); err != nil {
				t.Fatalf("without WithVerify: %v", err)
			}
			// NewRepos makes every repository before it fails: the problems
			// of every table are reported at once.
			_, err = model.NewRepos(broken, nil, runtime.WithVerify())
			for _, want := range []string{"users.email: unique tag", "posts.slug: unique tag", "wides.code: unique tag"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("NewRepos: %v\ndoes not say %q", err, want)
				}
			}
		})
	}
}
