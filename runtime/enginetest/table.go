package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/store"
)

// The read path of one row or of All: hits, misses, cached not-founds,
// fills, corrupt values and concurrent readers.
var tableTests = []test{
	{"ReadAfterSave", testReadAfterSave},
	{"CachedNotFoundThenInsert", testCachedNotFoundThenInsert},
	{"AllFollowsWrites", testAllFollowsWrites},
	{"RelatedNeverCached", testRelatedNeverCached},
	{"CorruptValuesAreMisses", testCorruptValuesAreMisses},
	{"ConcurrentMissesOneQuery", testConcurrentMissesOneQuery},
	{"UnfillableReadsDoNotWait", testUnfillableReadsDoNotWait},
	{"LateReaderDoesNotJoinAnOlderFill", testLateReaderDoesNotJoinAnOlderFill},
}

func testReadAfterSave(t *testing.T, e *env) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "a@x.org", 1, "a")
	for i := 0; i < 2; i++ {
		got, err := e.users.GetByID(ctx, u.ID)
		if err != nil || got.Email != "a@x.org" {
			t.Fatalf("read %d: %+v, %v", i, got, err)
		}
	}
	s := e.users.Stats()
	if cacheHits(s) != 1 || s.Misses != 1 || s.Fills != 1 {
		t.Fatalf("two reads: hits=%d misses=%d fills=%d, want 1 1 1", cacheHits(s), s.Misses, s.Fills)
	}
	u.Name = "renamed"
	if err := e.users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := e.users.GetByID(ctx, u.ID)
	if err != nil || got.Name != "renamed" {
		t.Fatalf("read after save: %+v, %v", got, err)
	}
	// The copy returned is the caller's own.
	got.Name = "scribbled"
	again, err := e.users.GetByID(ctx, u.ID)
	if err != nil || again.Name != "renamed" {
		t.Fatalf("read after caller mutation: %+v, %v", again, err)
	}
}

func testCachedNotFoundThenInsert(t *testing.T, e *env) {
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		_, err := e.users.GetByEmail(ctx, "later@x.org")
		wantNotFound(t, "before insert", err)
	}
	// MySQL's default collations compare text loosely, so a text miss is
	// only cached on the other dialects.
	wantHits, wantReads := uint64(1), uint64(1)
	if e.dialect == runtime.MySQL {
		wantHits, wantReads = 0, 2
	}
	if s := e.users.Stats(); cacheHits(s) != wantHits || s.DBReads != wantReads {
		t.Fatalf("two misses by email: hits=%d db_reads=%d, want %d and %d", cacheHits(s), s.DBReads, wantHits, wantReads)
	}
	u := mustSaveUser(t, e, "later@x.org", 1, "later")
	got, err := e.users.GetByEmail(ctx, "later@x.org")
	if err != nil || got.ID != u.ID {
		t.Fatalf("after insert: %+v, %v", got, err)
	}
	// The same for a primary key that does not exist yet.
	next := u.ID + 1
	_, err = e.users.GetByID(ctx, next)
	wantNotFound(t, "next id", err)
	v := mustSaveUser(t, e, "next@x.org", 1, "next")
	if v.ID != next {
		t.Fatalf("the database skipped id %d (got %d)", next, v.ID)
	}
	if got, err := e.users.GetByID(ctx, next); err != nil || got.Email != "next@x.org" {
		t.Fatalf("next id after insert: %+v, %v", got, err)
	}
}

func testAllFollowsWrites(t *testing.T, e *env) {
	ctx := context.Background()
	emails := func() []string {
		t.Helper()
		all, err := e.users.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range all {
			out = append(out, u.Email)
		}
		return out
	}
	if got := emails(); len(got) != 0 {
		t.Fatalf("empty table: %v", got)
	}
	a := mustSaveUser(t, e, "a@x.org", 1, "a")
	if got := fmt.Sprint(emails()); got != "[a@x.org]" {
		t.Fatalf("after insert: %s", got)
	}
	b := mustSaveUser(t, e, "b@x.org", 1, "b")
	if got := fmt.Sprint(emails()); got != "[a@x.org b@x.org]" {
		t.Fatalf("after second insert: %s", got)
	}
	before := e.users.Stats().Hits
	emails()
	if e.users.Stats().Hits != before+1 {
		t.Fatal("All was not served from the cache")
	}
	a.Email = "a2@x.org"
	if err := e.users.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(emails()); got != "[a2@x.org b@x.org]" {
		t.Fatalf("after update: %s", got)
	}
	if err := e.users.Delete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(emails()); got != "[a2@x.org]" {
		t.Fatalf("after delete: %s", got)
	}
}

func testRelatedNeverCached(t *testing.T, e *env) {
	ctx := context.Background()
	author := mustSaveUser(t, e, "author-secret@x.org", 1, "author")
	p := &model.Post{AuthorID: author.ID, Slug: "s", Title: "T", Body: "B", Author: author}
	if err := e.posts.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.Author != author {
		t.Fatal("Save changed the caller's related field")
	}
	for i := 0; i < 2; i++ { // the fill, then the hit
		got, err := e.posts.GetByID(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Author != nil {
			t.Fatalf("read %d returned a related object", i)
		}
	}
	if cacheHits(e.posts.Stats()) != 1 {
		t.Fatal("second read was not a hit")
	}
	entry, err := e.store.Get(ctx, postKey(t, e, p.ID))
	if err != nil || entry.Kind != store.CachedRow {
		t.Fatalf("post not cached: %+v, %v", entry, err)
	}
	if bytes.Contains(entry.Value, []byte("author-secret")) {
		t.Fatal("the cached bytes of a post hold its author")
	}
}

func testCorruptValuesAreMisses(t *testing.T, e *env) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "c@x.org", 1, "c")
	key := userKey(t, e, u.ID) // also fills the key
	entry, err := e.store.Get(ctx, key)
	if err != nil || entry.Kind != store.CachedRow {
		t.Fatalf("not filled: %+v %v", entry, err)
	}
	good := append([]byte(nil), entry.Value...)
	otherSchema := append([]byte{good[0], good[1] ^ 0xff, good[2], good[3], good[4]}, good[5:]...)
	// Bytes that would still decode to a row: another key's value, and
	// a flipped bit inside a string. The checksum binds a value to its
	// key and payload, so neither is served.
	other := mustSaveUser(t, e, "d@x.org", 1, "d")
	otherEntry, err := e.store.Get(ctx, userKey(t, e, other.ID))
	if err != nil || otherEntry.Kind != store.CachedRow {
		t.Fatalf("other user not filled: %+v %v", otherEntry, err)
	}
	flipped := append([]byte(nil), good...)
	flipped[bytes.Index(flipped, []byte("c@x.org"))] ^= 0x01
	for name, bad := range map[string][]byte{
		"foreign":       []byte("someone else's value"),
		"other schema":  otherSchema,
		"truncated":     good[:len(good)-3],
		"trailing":      append(append([]byte(nil), good...), 0),
		"empty":         {},
		"another key's": append([]byte(nil), otherEntry.Value...),
		"bit flip":      flipped,
	} {
		plant(t, e.store, key, bad)
		if e.near != nil {
			// The store changed behind the bus: a process started now
			// would not have the good copy.
			e.near.Clear()
		}
		// Another build's value is counted apart: during a deploy it
		// is expected on every read the builds share.
		counted := func(s runtime.Stats) uint64 { return s.CorruptValues }
		if name == "other schema" {
			counted = func(s runtime.Stats) uint64 { return s.OtherSchema }
		}
		before := counted(e.users.Stats())
		got, err := e.users.GetByID(ctx, u.ID)
		if err != nil || got.Email != "c@x.org" {
			t.Fatalf("%s: read %+v, %v", name, got, err)
		}
		if counted(e.users.Stats()) == before {
			t.Errorf("%s: not counted", name)
		}
		after, err := e.store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if after.Kind != store.Absent && !bytes.Equal(after.Value, good) {
			t.Fatalf("%s: the key still holds %v %q", name, after.Kind, after.Value)
		}
		if got, err := e.users.GetByID(ctx, u.ID); err != nil || got.Email != "c@x.org" {
			t.Fatalf("%s: second read %+v, %v", name, got, err)
		}
		if again, _ := e.store.Get(ctx, key); !bytes.Equal(again.Value, good) {
			t.Fatalf("%s: not refilled with the row: %v %q", name, again.Kind, again.Value)
		}
	}
}

func testConcurrentMissesOneQuery(t *testing.T, e *env) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "herd@x.org", 1, "herd")
	e.count.Reset()
	var start, done sync.WaitGroup
	start.Add(1)
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			got, err := e.users.GetByID(ctx, u.ID)
			if err == nil && got.Email != "herd@x.org" {
				err = fmt.Errorf("got %+v", got)
			}
			errs <- err
		}()
	}
	start.Done()
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count.Queries(); n != 1 {
		t.Fatalf("100 concurrent misses made %d database queries, want 1", n)
	}
}

// testUnfillableReadsDoNotWait: a read that may not fill (here All over its
// row cap) gives its lease back, so the next reader does not wait it out.
func testUnfillableReadsDoNotWait(t *testing.T, e *env) {
	ctx := context.Background()
	mustSaveUser(t, e, "a@x.org", 1, "a")
	mustSaveUser(t, e, "b@x.org", 1, "b")
	capped, err := model.NewUserRepo(e.db, e.store, runtime.WithPrefix(e.prefix), runtime.WithAllCap(1), runtime.WithLeaseWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		all, err := capped.All(ctx)
		if err != nil || len(all) != 2 {
			t.Fatalf("All: %d rows, %v", len(all), err)
		}
	}
	s := capped.Stats()
	if s.AllOverCap != 3 || s.DBReads != 3 || s.LeaseWaits != 0 || s.Fills != 0 {
		t.Fatalf("over the cap: %+v, want 3 uncached reads and no lease waits", s)
	}
}

// testLateReaderDoesNotJoinAnOlderFill: a read that begins after a write was
// acknowledged must not be handed the answer of a fill whose database read
// began before that write, even though both readers miss the same key in
// one process (where they share one fill).
func testLateReaderDoesNotJoinAnOlderFill(t *testing.T, e *env) {
	ctx := context.Background()
	u := mustSaveUser(t, e, "late@x.org", 1, "late")
	gated := &gatedStore{Store: e.store, waiting: make(chan struct{}, 1), gate: make(chan struct{})}
	users, err := model.NewUserRepo(e.db, gated, runtime.WithPrefix(e.prefix))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var early *model.User
	go func() { // reads the old row, then waits to fill
		defer wg.Done()
		early, _ = users.GetByID(ctx, u.ID)
	}()
	<-gated.waiting

	u.Name = "renamed"
	if err := e.users.Save(ctx, u); err != nil { // acknowledged
		t.Fatal(err)
	}
	lateCtx := &joinSignal{Context: context.WithValue(ctx, lateReader{}, true), joined: make(chan struct{})}
	lateDone := make(chan *model.User)
	go func() {
		late, err := users.GetByID(lateCtx, u.ID) // begins after the ack
		if err != nil {
			t.Error(err)
		}
		lateDone <- late
	}()
	<-lateCtx.joined // the late reader waits on the shared fill
	close(gated.gate)
	late := <-lateDone
	wg.Wait()
	if gated.lateLeased.Load() {
		t.Fatal("the late reader took a lease of its own: it never joined the older fill, and the test checked nothing")
	}
	if early == nil || early.Name != "late" && early.Name != "renamed" {
		t.Fatalf("early reader: %+v", early)
	}
	if late == nil || late.Name != "renamed" {
		t.Fatalf("a read that began after the write was acknowledged returned %+v", late)
	}
}

// lateReader marks the context of the late reader; the fill it would lead
// carries it too.
type lateReader struct{}

// joinSignal closes joined the first time Done is asked for: a read asks
// only once it waits for the fill it joined or leads (gatedStore hides the
// context's Done from the store calls before that).
type joinSignal struct {
	context.Context
	once   sync.Once
	joined chan struct{}
}

func (c *joinSignal) Done() <-chan struct{} {
	c.once.Do(func() { close(c.joined) })
	return c.Context.Done()
}

// gatedStore holds every Fill until the gate opens, and says when one is
// waiting. It records a lease taken for the late reader.
type gatedStore struct {
	runtime.Store
	waiting    chan struct{}
	gate       chan struct{}
	lateLeased atomic.Bool
}

func (g *gatedStore) Get(ctx context.Context, key string) (store.Entry, error) {
	return g.Store.Get(context.WithoutCancel(ctx), key)
}

func (g *gatedStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	if ctx.Value(lateReader{}) != nil {
		g.lateLeased.Store(true)
	}
	return g.Store.Lease(context.WithoutCancel(ctx), key, token, ttl)
}

func (g *gatedStore) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	g.waiting <- struct{}{}
	<-g.gate
	return g.Store.Fill(ctx, key, token, e, ttl)
}
