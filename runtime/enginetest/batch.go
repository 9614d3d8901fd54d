package enginetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/store"
)

// The batch getters follow the single-key protocol key by key: these tests
// put a key in each state a batch can meet and check what it does.
var batchTests = []test{
	{"GetManyAlignsAndCaches", testGetManyAlignsAndCaches},
	{"GetManyReadsThroughLocks", testGetManyReadsThroughLocks},
	{"GetManyWaitsForLeases", testGetManyWaitsForLeases},
	{"GetManyCorruptValue", testGetManyCorruptValue},
	{"GetManyTextKeys", testGetManyTextKeys},
}

// testGetManyAlignsAndCaches: results follow the ids, repeated ids get
// copies of their own, a missing id is nil and its miss is not cached (the
// id is generated: an insert cannot lock it before it commits), and the
// row inserted under it later is seen.
func testGetManyAlignsAndCaches(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	b := mustSaveUser(t, e, "b@x.org", 1, "b")
	missing := b.ID + 1
	ids := []int64{b.ID, a.ID, missing, a.ID, b.ID}
	e.count.Reset()
	got, err := e.users.GetByIDs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.count.Queries(); n != 1 {
		t.Errorf("cold: %d queries, want 1", n)
	}
	if got[0].ID != b.ID || got[1].ID != a.ID || got[2] != nil || got[3].ID != a.ID || got[4].ID != b.ID {
		t.Fatalf("GetByIDs(%v) = %v", ids, got)
	}
	if got[1] == got[3] || got[0] == got[4] {
		t.Fatal("a repeated id shares memory between positions")
	}
	s := e.users.Stats()
	if s.Misses != 3 || s.Fills != 2 || s.DBReads != 1 {
		t.Fatalf("cold: misses %d fills %d reads %d, want 3 2 1", s.Misses, s.Fills, s.DBReads)
	}
	e.count.Reset()
	again, err := e.users.GetByIDs(ctx, ids)
	if err != nil || again[2] != nil || again[3].Email != "a@x.org" {
		t.Fatalf("warm: %v, %v", again, err)
	}
	if n := e.count.Queries(); n != 1 || cacheHits(e.users.Stats()) != 2 {
		t.Fatalf("warm: %d queries and %d hits, want 1 (the missing id) and 2", n, cacheHits(e.users.Stats()))
	}
	c := mustSaveUser(t, e, "c@x.org", 1, "c")
	if c.ID != missing {
		t.Fatalf("the database skipped id %d (got %d)", missing, c.ID)
	}
	if got, err := e.users.GetByIDs(ctx, []int64{missing}); err != nil || got[0] == nil || got[0].Email != "c@x.org" {
		t.Fatalf("the id cached as missing, after its insert: %v, %v", got, err)
	}
	if got, err := e.users.GetByIDs(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v, %v", got, err)
	}
}

// testGetManyReadsThroughLocks: a key a writer holds is read from the
// database and never filled.
func testGetManyReadsThroughLocks(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	b := mustSaveUser(t, e, "b@x.org", 1, "b")
	key := userKey(t, e, a.ID) // cached now
	if err := e.store.Lock(ctx, key, time.Minute); err != nil {
		t.Fatal(err)
	}
	// the writer's statement, not yet released
	if _, err := e.db.Exec(e.db.Rebind("UPDATE users SET name = ? WHERE id = ?"), "written", a.ID); err != nil {
		t.Fatal(err)
	}
	before := e.users.Stats()
	got, err := e.users.GetByIDs(ctx, []int64{a.ID, b.ID})
	if err != nil || got[0].Name != "written" || got[1].ID != b.ID {
		t.Fatalf("GetByIDs through a lock: %v, %v", got, err)
	}
	if s := e.users.Stats(); s.LockBypasses != before.LockBypasses+1 {
		t.Fatalf("lock bypasses %d -> %d", before.LockBypasses, s.LockBypasses)
	}
	if entry, err := e.store.Get(ctx, key); err != nil || entry.Kind != store.Locked || entry.Locks != 1 {
		t.Fatalf("after the batch the key holds %+v, %v; want the writer's lock", entry, err)
	}
	if err := e.store.Unlock(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got, err := e.users.GetByIDs(ctx, []int64{a.ID}); err != nil || got[0].Name != "written" {
		t.Fatalf("after the release: %v, %v", got, err)
	}
}

// testGetManyWaitsForLeases: a key another reader is filling is waited
// for; its fill answers, and a lease that is never filled is read around
// without taking it over.
func testGetManyWaitsForLeases(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	key := userKey(t, e, a.ID)
	entry, err := e.store.Get(ctx, key)
	if err != nil || entry.Kind != store.CachedRow {
		t.Fatalf("not cached: %+v, %v", entry, err)
	}
	row := append([]byte(nil), entry.Value...)
	// another reader's lease
	lease := func(token string) {
		t.Helper()
		if err := e.store.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if ok, cur, err := e.store.Lease(ctx, key, token, time.Minute); !ok || err != nil {
			t.Fatalf("lease: %v %+v %v", ok, cur, err)
		}
	}

	// The other reader fills while the batch waits: just before the
	// batch's second read of the key, its first poll of the lease (a fill
	// before the first read would turn the wait into a plain hit).
	lease("other")
	var fillErr error
	polled := &onRead{BatchStore: store.Batched(e.store), key: key, at: 2, do: func() {
		_, fillErr = e.store.Fill(ctx, key, "other", store.Entry{Kind: store.CachedRow, Value: row}, time.Minute)
	}}
	// The wait is long enough for any machine: the fill lands on the first poll.
	waiting, err := model.NewUserRepo(e.db, polled, runtime.WithPrefix(e.prefix), runtime.WithLeaseWait(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	e.count.Reset()
	got, err := waiting.GetByIDs(ctx, []int64{a.ID})
	if fillErr != nil {
		t.Fatal(fillErr)
	}
	if polled.reads < 2 {
		t.Fatalf("the batch read the key %d times: it never polled the lease", polled.reads)
	}
	if err != nil || got[0] == nil || got[0].ID != a.ID {
		t.Fatalf("GetByIDs waiting for a fill: %v, %v", got, err)
	}
	if s := waiting.Stats(); s.LeaseWaits != 1 || s.DBReads != 0 || e.count.Queries() != 0 {
		t.Fatalf("waiting for a fill: lease waits %d, reads %d, queries %d; want 1 0 0", s.LeaseWaits, s.DBReads, e.count.Queries())
	}

	// a lease never filled: once the wait is over, read the database and
	// leave the lease alone
	lease("stuck")
	short, err := model.NewUserRepo(e.db, e.store, runtime.WithPrefix(e.prefix), runtime.WithLeaseWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	got, err = short.GetByIDs(ctx, []int64{a.ID})
	if err != nil || got[0] == nil || got[0].ID != a.ID {
		t.Fatalf("GetByIDs around a stuck lease: %v, %v", got, err)
	}
	if entry, err := e.store.Get(ctx, key); err != nil || entry.Kind != store.Leased || entry.Token != "stuck" {
		t.Fatalf("the other reader's lease became %+v, %v", entry, err)
	}
	if s := short.Stats(); s.LeaseWaits != 1 || s.DBReads != 1 || s.Fills != 0 {
		t.Fatalf("around a stuck lease: %+v", s)
	}
}

// onRead runs do just before the at-th read of key (one Get, or one
// GetMany that asks for it), then forwards the read. Tests use it to change
// the store at a known step of the protocol instead of after a sleep.
type onRead struct {
	store.BatchStore
	key   string
	at    int
	do    func()
	reads int
}

func (s *onRead) read() {
	if s.reads++; s.reads == s.at {
		s.do()
	}
}

// UpdateBoard passes the build board through, as a wrapper must: a
// repository on a store that hid it would stamp its values with no epoch,
// and the other repositories of the test would read them as another
// build's (misses).
func (s *onRead) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func([]byte) ([]byte, error)) error {
	b, ok := s.BatchStore.(store.BoardStore)
	if !ok {
		return errors.New("the store holds no build board")
	}
	return b.UpdateBoard(ctx, key, keep, fn)
}

func (s *onRead) Get(ctx context.Context, key string) (store.Entry, error) {
	if key == s.key {
		s.read()
	}
	return s.BatchStore.Get(ctx, key)
}

func (s *onRead) GetMany(ctx context.Context, ops []store.GetOp) {
	for _, op := range ops {
		if op.Key == s.key {
			s.read()
		}
	}
	s.BatchStore.GetMany(ctx, ops)
}

// testGetManyCorruptValue: bytes that do not decode are a miss, discarded
// and refilled.
func testGetManyCorruptValue(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	key := userKey(t, e, a.ID)
	good, err := e.store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	goodBytes := append([]byte(nil), good.Value...)
	for name, bad := range map[string][]byte{
		"foreign":   []byte("someone else's value"),
		"truncated": goodBytes[:len(goodBytes)-2],
	} {
		plant(t, e.store, key, bad)
		if e.near != nil {
			e.near.Clear() // the store changed behind the bus
		}
		before := e.users.Stats().CorruptValues
		got, err := e.users.GetByIDs(ctx, []int64{a.ID})
		if err != nil || got[0] == nil || got[0].Email != "a@x.org" {
			t.Fatalf("%s: %v, %v", name, got, err)
		}
		if e.users.Stats().CorruptValues == before {
			t.Errorf("%s: not counted as corrupt", name)
		}
		if _, err := e.users.GetByIDs(ctx, []int64{a.ID}); err != nil {
			t.Fatal(err)
		}
		if again, _ := e.store.Get(ctx, key); string(again.Value) != string(goodBytes) {
			t.Fatalf("%s: not refilled: %v %q", name, again.Kind, again.Value)
		}
	}
}

// testGetManyTextKeys: by a unique text column, a lookup the database
// matches loosely (MySQL's case-insensitive collation) gets the row, as
// GetByEmail would, but caches nothing under its spelling; elsewhere it is
// a miss like any other. No lease is left behind either way.
func testGetManyTextKeys(t *testing.T, e *env) {
	ctx := context.Background()
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	// alone in its batch, the loose spelling
	loose, err := model.NewUserRepo(e.db, e.store, runtime.WithPrefix(e.prefix))
	if err != nil {
		t.Fatal(err)
	}
	got, err := loose.GetByEmails(ctx, []string{"A@X.ORG"})
	if err != nil {
		t.Fatal(err)
	}
	if e.dialect == runtime.MySQL {
		if got[0] == nil || got[0].ID != a.ID || loose.Stats().Fills != 0 {
			t.Fatalf("MySQL, A@X.ORG alone: %v, %d fills; want the row, cached under no key", got, loose.Stats().Fills)
		}
	} else if got[0] != nil || loose.Stats().Fills != 1 {
		t.Fatalf("A@X.ORG alone: %v, %d fills; want a cached miss", got, loose.Stats().Fills)
	}

	emails := []string{"a@x.org", "A@X.ORG", "none@x.org"}
	got, err = e.users.GetByEmails(ctx, emails)
	if err != nil {
		t.Fatal(err)
	}
	for i, email := range emails {
		one, err := e.users.GetByEmail(ctx, email)
		if (one == nil) != (got[i] == nil) || (one != nil && one.ID != got[i].ID) {
			t.Errorf("%s: GetByEmails says %+v, GetByEmail %+v (%v)", email, got[i], one, err)
		}
	}
	if got[0] == nil || got[0].ID != a.ID || got[2] != nil {
		t.Fatalf("GetByEmails(%q) = %v", emails, got)
	}
	wantFills := uint64(2) // the row and none@'s miss; A@X.ORG's was cached above
	if e.dialect == runtime.MySQL {
		wantFills = 1 // text misses are never cached on MySQL
		if got[1] == nil || got[1].ID != a.ID {
			t.Errorf("MySQL matches %q to the row, and so must the batch: %v", emails[1], got[1])
		}
	}
	if s := e.users.Stats(); s.Fills != wantFills || s.LeaseWaits != 0 {
		t.Fatalf("fills %d and lease waits %d, want %d and 0", s.Fills, s.LeaseWaits, wantFills)
	}
}
