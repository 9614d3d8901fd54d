package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/store"
)

// Loaders read related rows through the related model's own repository
// and cache; cached rows never hold related objects.
var relatedTests = []test{
	{"LoadAuthorsIsBatched", testLoadAuthorsIsBatched},
	{"LoadersSeeAuthorChanges", testLoadersSeeAuthorChanges},
	{"RelatedListNeverCached", testRelatedListNeverCached},
}

// testLoadAuthorsIsBatched: the authors of 100 posts by 30 users cost at
// most one database query and three store round trips cold (read, lease,
// fill), and no query and one round trip warm. A store without batches
// (memcached) gets one call per author and step instead, the queries
// unchanged.
func testLoadAuthorsIsBatched(t *testing.T, e *env) {
	b := newBlog(t, e)
	coldTrips, warmTrips := int64(3), int64(1)
	if _, ok := e.store.(store.BatchStore); !ok {
		coldTrips, warmTrips = 3*30, 30
	}
	before := b.repos.Users.Stats()
	q, trips := b.loadAuthors(t)
	t.Logf("100 posts by 30 authors, cold: %d database queries, %d store round trips", q, trips)
	if q > 1 || trips > coldTrips {
		t.Errorf("cold: %d database queries and %d store round trips, want at most 1 and %d", q, trips, coldTrips)
	}
	s := b.repos.Users.Stats()
	if s.Misses-before.Misses != 30 || s.Fills-before.Fills != 30 || s.DBReads-before.DBReads != 1 {
		t.Errorf("cold: %d misses, %d fills, %d reads; want 30, 30, 1", s.Misses-before.Misses, s.Fills-before.Fills, s.DBReads-before.DBReads)
	}
	q, trips = b.loadAuthors(t)
	t.Logf("100 posts by 30 authors, warm: %d database queries, %d store round trips", q, trips)
	if q != 0 || trips != warmTrips {
		t.Errorf("warm: %d database queries and %d store round trips, want 0 and %d", q, trips, warmTrips)
	}
	if hits := b.repos.Users.Stats().Hits - s.Hits; hits != 30 {
		t.Errorf("warm: %d hits, want 30", hits)
	}
}

// testLoadersSeeAuthorChanges: once an author is saved, every loader of
// every post returns the new author, at once.
func testLoadersSeeAuthorChanges(t *testing.T, e *env) {
	ctx := context.Background()
	b := newBlog(t, e)
	b.loadAuthors(t) // cached now
	if a, err := b.repos.Posts.LoadAuthor(ctx, b.posts[7]); err != nil || a.Name != "Author 7" {
		t.Fatalf("LoadAuthor: %+v, %v", a, err)
	}
	renamed := b.authors[7]
	renamed.Name = "Author 7, renamed"
	if err := b.repos.Users.Save(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	a, err := b.repos.Posts.LoadAuthor(ctx, b.posts[7])
	if err != nil || a.Name != renamed.Name {
		t.Fatalf("LoadAuthor after the save: %+v, %v", a, err)
	}
	authors, err := b.repos.Posts.LoadAuthors(ctx, b.posts)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range authors {
		if i%30 == 7 && a.Name != renamed.Name {
			t.Fatalf("LoadAuthors after the save: post %d is by %q", i, a.Name)
		}
	}
	// and a post read from the cache still holds no author
	p, err := b.repos.Posts.GetByID(ctx, b.posts[7].ID)
	if err != nil || p.Author != nil {
		t.Fatalf("GetByID: %+v, %v", p, err)
	}
	// a deleted author is nil in the batch, not found alone
	victim := b.authors[8]
	for _, p := range b.posts {
		if p.AuthorID == victim.ID {
			if err := b.repos.Posts.Delete(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.repos.Users.Delete(ctx, victim.ID); err != nil {
		t.Fatal(err)
	}
	_, err = b.repos.Posts.LoadAuthor(ctx, b.posts[8])
	wantNotFound(t, "LoadAuthor of a deleted author", err)
	authors, err = b.repos.Posts.LoadAuthors(ctx, b.posts[:10])
	if err != nil || authors[8] != nil || authors[7] == nil {
		t.Fatalf("LoadAuthors with a deleted author: %v, %v", authors, err)
	}
}

// testRelatedListNeverCached: a user saved with its posts attached is
// cached without them, and read back without them.
func testRelatedListNeverCached(t *testing.T, e *env) {
	ctx := context.Background()
	u := &model.User{Email: "lister@x.org", OrgID: 1, Handle: "lister", Name: "Lister",
		Posts: []*model.Post{{Slug: "secret-slug", Title: "secret title"}}}
	if err := e.users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	if len(u.Posts) != 1 {
		t.Fatal("Save changed the caller's related list")
	}
	for i := range 2 { // the fill, then the hit
		got, err := e.users.GetByID(ctx, u.ID)
		if err != nil || got.Posts != nil {
			t.Fatalf("read %d: %+v, %v", i, got, err)
		}
	}
	entry, err := e.store.Get(ctx, userKey(t, e, u.ID))
	if err != nil || entry.Kind != store.CachedRow {
		t.Fatalf("user not cached: %+v, %v", entry, err)
	}
	if bytes.Contains(entry.Value, []byte("secret")) {
		t.Fatal("the cached bytes of a user hold its posts")
	}
}

// tripStore counts the calls that reach a store: each is one round trip,
// a batch included (on Redis, one pipeline), unless the store has no
// batches of its own: store.Batched then makes one call per op.
type tripStore struct {
	store.BatchStore
	native bool
	trips  atomic.Int64
}

func newTripStore(s runtime.Store) *tripStore {
	_, native := s.(store.BatchStore)
	return &tripStore{BatchStore: store.Batched(s), native: native}
}

// batch counts a batch of n ops.
func (s *tripStore) batch(n int) {
	if s.native {
		n = 1
	}
	s.trips.Add(int64(n))
}

func (s *tripStore) Get(ctx context.Context, key string) (store.Entry, error) {
	s.trips.Add(1)
	return s.BatchStore.Get(ctx, key)
}

func (s *tripStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	s.trips.Add(1)
	return s.BatchStore.Lease(ctx, key, token, ttl)
}

func (s *tripStore) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	s.trips.Add(1)
	return s.BatchStore.Fill(ctx, key, token, e, ttl)
}

func (s *tripStore) Release(ctx context.Context, key, token string) error {
	s.trips.Add(1)
	return s.BatchStore.Release(ctx, key, token)
}

func (s *tripStore) Lock(ctx context.Context, key string, ttl time.Duration) error {
	s.trips.Add(1)
	return s.BatchStore.Lock(ctx, key, ttl)
}

func (s *tripStore) Unlock(ctx context.Context, key string) error {
	s.trips.Add(1)
	return s.BatchStore.Unlock(ctx, key)
}

func (s *tripStore) Delete(ctx context.Context, key string) error {
	s.trips.Add(1)
	return s.BatchStore.Delete(ctx, key)
}

func (s *tripStore) GetMany(ctx context.Context, ops []store.GetOp) {
	s.batch(len(ops))
	s.BatchStore.GetMany(ctx, ops)
}

func (s *tripStore) LeaseMany(ctx context.Context, ops []store.LeaseOp) {
	s.batch(len(ops))
	s.BatchStore.LeaseMany(ctx, ops)
}

func (s *tripStore) FillMany(ctx context.Context, ops []store.FillOp) {
	s.batch(len(ops))
	s.BatchStore.FillMany(ctx, ops)
}

func (s *tripStore) ReleaseMany(ctx context.Context, ops []store.ReleaseOp) {
	s.batch(len(ops))
	s.BatchStore.ReleaseMany(ctx, ops)
}

// blog is a pair's repositories made by NewRepos, on a store that counts
// round trips, with 30 authors and 100 posts (post i by author i % 30).
type blog struct {
	*env
	repos   *model.Repos
	trips   *tripStore
	authors []*model.User
	posts   []*model.Post
}

func newBlog(t *testing.T, e *env) *blog {
	t.Helper()
	ctx := context.Background()
	trips := newTripStore(e.store)
	repos, err := model.NewRepos(e.db, trips, runtime.WithPrefix(e.prefix))
	if err != nil {
		t.Fatal(err)
	}
	b := &blog{env: e, repos: repos, trips: trips}
	for i := range 30 {
		u := &model.User{Email: fmt.Sprintf("author%d@x.org", i), OrgID: 1, Handle: fmt.Sprint("author", i), Name: fmt.Sprint("Author ", i)}
		if err := repos.Users.Save(ctx, u); err != nil {
			t.Fatal(err)
		}
		b.authors = append(b.authors, u)
	}
	ids := make([]int64, 100)
	for i := range ids {
		p := &model.Post{AuthorID: b.authors[i%30].ID, Slug: fmt.Sprint("post-", i), Title: fmt.Sprint("Post ", i), Body: "…"}
		if err := repos.Posts.Save(ctx, p); err != nil {
			t.Fatal(err)
		}
		ids[i] = p.ID
	}
	posts, err := repos.Posts.GetByIDs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range posts {
		if p == nil || p.ID != ids[i] {
			t.Fatalf("GetByIDs: position %d holds %+v, want post %d", i, p, ids[i])
		}
	}
	b.posts = posts
	return b
}

// loadAuthors loads the authors of every post and checks each one, and
// returns the database queries and store round trips it took.
func (b *blog) loadAuthors(t *testing.T) (queries, trips int64) {
	t.Helper()
	b.count.Reset()
	b.trips.trips.Store(0)
	authors, err := b.repos.Posts.LoadAuthors(context.Background(), b.posts)
	if err != nil {
		t.Fatal(err)
	}
	queries, trips = b.count.Queries(), b.trips.trips.Load()
	if len(authors) != len(b.posts) {
		t.Fatalf("%d authors for %d posts", len(authors), len(b.posts))
	}
	seen := map[*model.User]bool{}
	for i, a := range authors {
		want := b.authors[i%30]
		if a == nil || a.ID != want.ID || a.Name != want.Name {
			t.Fatalf("post %d: author %+v, want %+v", i, a, want)
		}
		if seen[a] {
			t.Fatalf("post %d shares its author's memory with another post", i)
		}
		seen[a] = true
	}
	return queries, trips
}
