package enginetest

import (
	"context"
	"errors"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/faultstore"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/observe"
	"github.com/cachegen/cachegen/runtime/store"
)

// A store that fails, refuses or is down costs the cache, never the
// answer.
var faultTests = []test{
	{"StoreDown", testStoreDown},
	{"GetManyStoreDown", testGetManyStoreDown},
	{"GetManyPendingInvalidation", testGetManyPendingInvalidation},
}

// testStoreDown: with the store unreachable, reads come from the database
// and writes succeed; invalidations the store missed are delivered once it
// answers again, so the value it kept across the outage is not served.
func testStoreDown(t *testing.T, e *env) {
	ctx := context.Background()
	inner := e.store
	faulty := faultstore.New(inner)
	watch := &retryWatch{delivered: make(chan struct{})}
	// No near cache: the store alone is under test.
	e = newEnv(t, e.db, e.count, faulty, e.prefix, runtime.WithObserver(watch))

	u := mustSaveUser(t, e, "down@x.org", 1, "down")
	if _, err := e.users.GetByID(ctx, u.ID); err != nil { // cached now
		t.Fatal(err)
	}
	watch.key = userKey(t, e, u.ID)

	faulty.SetDown(true)
	before := e.users.Stats()
	got, err := e.users.GetByID(ctx, u.ID)
	if err != nil || got.Email != "down@x.org" {
		t.Fatalf("read with the store down: %+v, %v", got, err)
	}
	u.Name = "written while down"
	if err := e.users.Save(ctx, u); err != nil {
		t.Fatalf("a write failed because the store was down: %v", err)
	}
	got, err = e.users.GetByID(ctx, u.ID)
	if err != nil || got.Name != "written while down" {
		t.Fatalf("read after the write, store down: %+v, %v", got, err)
	}
	s := e.users.Stats()
	if s.StoreErrors <= before.StoreErrors || s.DBReads < before.DBReads+2 {
		t.Fatalf("store errors %d -> %d, db reads %d -> %d: the outage was not counted", before.StoreErrors, s.StoreErrors, before.DBReads, s.DBReads)
	}
	if entry, err := inner.Get(ctx, watch.key); err != nil || entry.Kind != store.CachedRow {
		t.Fatalf("the store lost the row from before the write (%+v, %v): the test needs it there", entry, err)
	}

	// Back up, still holding the row from before the write: the missed
	// invalidation must be delivered before the store serves that key
	// again. Every read until then, and after, must be the new row.
	faulty.SetDown(false)
	read := func() {
		t.Helper()
		got, err := e.users.GetByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "written while down" {
			t.Fatalf("the store served the row from before the write: %q", got.Name)
		}
	}
	read()
	<-watch.delivered // the retry queue sent the row's invalidation through
	// The key stops bypassing the store just after: reads go on until a
	// hit shows the store answers again, with the new row.
	for i := 0; ; i++ {
		read()
		if s := e.users.Stats(); !s.BreakerOpen && s.InvalidationRetries > 0 && s.Hits > before.Hits {
			break
		}
		if i == 10000 {
			t.Fatalf("10,000 reads after the invalidation was delivered, no hit: %+v", e.users.Stats())
		}
		goruntime.Gosched()
	}

	// And the repository made while the store was down works too.
	faulty.SetDown(true)
	late, err := model.NewUserRepo(e.db, faulty, runtime.WithPrefix(e.prefix))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := late.GetByEmail(ctx, "down@x.org"); err != nil || got.ID != u.ID {
		t.Fatalf("repo made with the store down: %+v, %v", got, err)
	}
}

// retryWatch closes delivered when a retried invalidation of key succeeds.
type retryWatch struct {
	key       string // set before the outage
	once      sync.Once
	delivered chan struct{}
}

func (w *retryWatch) Observe(_ context.Context, ev observe.Event) {
	if ev.Kind == observe.EventInvalidationRetried && ev.Err == nil && ev.Key == w.key {
		w.once.Do(func() { close(w.delivered) })
	}
}

// testGetManyStoreDown: with the store unreachable, a batch reads the
// database.
func testGetManyStoreDown(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	faulty := faultstore.New(e.store)
	faulty.SetDown(true)
	down, err := model.NewUserRepo(e.db, faulty, runtime.WithPrefix(e.prefix))
	if err != nil {
		t.Fatal(err)
	}
	got, err := down.GetByIDs(ctx, []int64{a.ID, a.ID + 1})
	if err != nil || got[0] == nil || got[0].ID != a.ID || got[1] != nil {
		t.Fatalf("GetByIDs with the store down: %v, %v", got, err)
	}
	if s := down.Stats(); s.StoreErrors == 0 || s.DBReads != 1 {
		t.Fatalf("store down: %+v", s)
	}
}

// testGetManyPendingInvalidation: a key whose invalidation the store
// missed is read from the database until the invalidation gets through,
// never from the store that still holds the old row.
func testGetManyPendingInvalidation(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	refusing := &lockRefused{Store: e.store, key: userKey(t, e, a.ID)} // cached now
	users, err := model.NewUserRepo(e.db, refusing, runtime.WithPrefix(e.prefix))
	if err != nil {
		t.Fatal(err)
	}
	refusing.refused.Store(true)
	defer refusing.refused.Store(false)
	a.Name = "written"
	if err := users.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	if entry, _ := e.store.Get(ctx, refusing.key); entry.Kind != store.CachedRow {
		t.Fatalf("the store lost the old row (%v): the test needs it there", entry.Kind)
	}
	got, err := users.GetByIDs(ctx, []int64{a.ID})
	if err != nil || got[0].Name != "written" {
		t.Fatalf("GetByIDs with the invalidation pending: %v, %v", got, err)
	}
}

// lockRefused refuses to lock and unlock one key, as a store that missed a
// write's invalidation would: the old value stays under it, pending.
type lockRefused struct {
	runtime.Store
	key     string
	refused atomic.Bool
}

func (s *lockRefused) Lock(ctx context.Context, key string, ttl time.Duration) error {
	if s.refused.Load() && key == s.key {
		return errors.New("lock refused")
	}
	return s.Store.Lock(ctx, key, ttl)
}

func (s *lockRefused) Unlock(ctx context.Context, key string) error {
	if s.refused.Load() && key == s.key {
		return errors.New("unlock refused")
	}
	return s.Store.Unlock(ctx, key)
}
