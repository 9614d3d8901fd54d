package httpcache_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/httpcache"
	"github.com/cachegen/cachegen/runtime/memcached"
	"github.com/cachegen/cachegen/runtime/memory"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	cachestore "github.com/cachegen/cachegen/runtime/store"
	"github.com/cachegen/cachegen/runtime/storetest"
)

// The tests of this file run on every store: memory, Redis and memcached
// (the last two skip without their server, or fail when
// CACHEGEN_INTEGRATION=required).

// stores opens each store, with a key prefix of this run's own.
var stores = []struct {
	name string
	open func(t *testing.T) cachestore.BatchStore
}{
	{"memory", func(t *testing.T) cachestore.BatchStore {
		s, err := memory.New(memory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}},
	{"redis", func(t *testing.T) cachestore.BatchStore {
		c := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr(t)})
		t.Cleanup(func() { c.Close() })
		s, err := cgredis.New(c, cgredis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
	{"memcached", func(t *testing.T) cachestore.BatchStore {
		servers := new(memcache.ServerList)
		if err := servers.SetServers(testenv.MemcachedAddr(t)); err != nil {
			t.Fatal(err)
		}
		c := memcache.NewFromSelector(servers)
		t.Cleanup(func() { c.Close() })
		s, err := memcached.New(c, memcached.Options{Servers: servers})
		if err != nil {
			t.Fatal(err)
		}
		return cachestore.Batched(s)
	}},
}

// twoTableSite serves a page showing a post and the author of the same id,
// from two tables, through Revalidate then Serve.
type twoTableSite struct {
	posts, authors *engine.Table[post]
	store          *storetest.ReadCounter
	pages          *httpcache.Cache
	queries        *dbtest.Counter
	db             *sqlx.DB
	handlerReads   int // pages whose handler read their rows
	h              http.Handler
}

func newTwoTableSite(t *testing.T, bs cachestore.BatchStore, opts httpcache.CacheOptions) *twoTableSite {
	t.Helper()
	db, count := dbtest.OpenSQLite(t)
	db.MustExec(`CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL)`)
	db.MustExec(`CREATE TABLE authors (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL)`)
	prefix := "httpcache-test-" + rand.Text()[:10]
	opts.Prefix = prefix
	s := &twoTableSite{store: &storetest.ReadCounter{BatchStore: bs}, queries: count, db: db}
	authorSpec := postSpec
	authorSpec.Table, authorSpec.SchemaHash = "authors", "0badcafe"
	var err error
	if s.posts, err = engine.NewTable(db, s.store, &postSpec, engine.WithPrefix(prefix)); err != nil {
		t.Fatal(err)
	}
	if s.authors, err = engine.NewTable(db, s.store, &authorSpec, engine.WithPrefix(prefix)); err != nil {
		t.Fatal(err)
	}
	if s.pages, err = httpcache.NewCache(s.store, opts); err != nil {
		t.Fatal(err)
	}
	s.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
		p := httpcache.New(r, "page-v1")
		if s.pages.Revalidate(w, p) {
			return
		}
		s.handlerReads++
		ctx := r.Context()
		row, err := s.posts.Get(ctx, 0, &post{ID: id})
		p.Row(s.posts.ValidatorOf(row, err))
		author, aerr := s.authors.Get(ctx, 0, &post{ID: id})
		p.Row(s.authors.ValidatorOf(author, aerr))
		s.pages.Serve(w, p, func(w http.ResponseWriter) {
			if err != nil || aerr != nil {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			fmt.Fprintf(w, "<h1>%s</h1><p>by %s</p><p>%s</p>", row.Title, author.Title, r.Header.Get("Cookie"))
		})
	})
	return s
}

func (s *twoTableSite) save(t *testing.T, table *engine.Table[post], p *post) {
	t.Helper()
	if err := table.Save(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func (s *twoTableSite) insertAuthor(t *testing.T, a *post) {
	t.Helper()
	s.db.MustExec(`INSERT INTO authors (id, title) VALUES (?, ?)`, a.ID, a.Title)
}

// want is the page the database's rows give: the oracle.
func (s *twoTableSite) want(t *testing.T, id int64, cookie string) string {
	t.Helper()
	var title, author string
	if err := s.db.Get(&title, `SELECT title FROM posts WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Get(&author, `SELECT title FROM authors WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("<h1>%s</h1><p>by %s</p><p>%s</p>", title, author, cookie)
}

func (s *twoTableSite) get(t *testing.T, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w.Result(), w.Body.String()
}

// TestRevalidate: a browser's ETag the Cache sent is answered 304 in one
// store round trip, whatever the tables, with no database query and
// without the handler reading its rows; a write to either row, a row the
// store lost, or another visitor's cookie is never answered from it.
func TestRevalidate(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s := newTwoTableSite(t, st.open(t), httpcache.CacheOptions{})
			p, a := &post{Title: "A"}, &post{Title: "x"}
			s.save(t, s.posts, p)
			a.ID = p.ID
			s.insertAuthor(t, a)
			url := "/?id=" + strconv.FormatInt(p.ID, 10)
			cookie := "session=alice"
			r, b := s.get(t, url, "Cookie", cookie)
			etag := r.Header.Get("ETag")
			if r.StatusCode != http.StatusOK || etag == "" || b != s.want(t, p.ID, cookie) {
				t.Fatalf("first page: %d %q %q", r.StatusCode, etag, b)
			}

			s.store.Reads.Store(0)
			s.queries.Reset()
			s.handlerReads = 0
			for range 3 {
				r, _ = s.get(t, url, "Cookie", cookie, "If-None-Match", etag)
				if r.StatusCode != http.StatusNotModified || r.Header.Get("ETag") != etag {
					t.Fatalf("revalidation: %d %q, want 304 %q", r.StatusCode, r.Header.Get("ETag"), etag)
				}
				if !strings.Contains(r.Header.Get("Vary"), "Cookie") || r.Header.Get("Cache-Control") != "private, no-cache" {
					t.Errorf("304 headers %v", r.Header)
				}
			}
			if n := s.store.Reads.Load(); n != 3 || s.queries.Queries() != 0 || s.handlerReads != 0 {
				t.Errorf("3 revalidations: %d store reads (want 3), %d queries (want 0), %d handler reads (want 0)",
					n, s.queries.Queries(), s.handlerReads)
			}
			if st := s.pages.Stats(); st.Revalidated != 3 {
				t.Errorf("stats %+v, want 3 revalidated", st)
			}

			// Another visitor holding alice's tag is not told 304.
			if r, b := s.get(t, url, "Cookie", "session=bob", "If-None-Match", etag); r.StatusCode != http.StatusOK || b != s.want(t, p.ID, "session=bob") {
				t.Errorf("bob with alice's tag: %d %q", r.StatusCode, b)
			}

			// A write to either row: the page, as the database gives it.
			// Writing the first content back (A, B, A) never revives a
			// tag sent for B.
			tags := []string{etag}
			for i, w := range []struct {
				table *engine.Table[post]
				row   *post
				title string
			}{{s.authors, a, "y"}, {s.posts, p, "B"}, {s.posts, p, "A"}, {s.authors, a, "x"}} {
				w.row.Title = w.title
				s.save(t, w.table, w.row)
				want := s.want(t, p.ID, cookie)
				r, b := s.get(t, url, "Cookie", cookie)
				if b != want {
					t.Fatalf("write %d: page %q, the database gives %q", i, b, want)
				}
				cur := r.Header.Get("ETag")
				for k, tag := range tags {
					r, b := s.get(t, url, "Cookie", cookie, "If-None-Match", tag)
					switch {
					case tag == cur && r.StatusCode != http.StatusNotModified:
						t.Errorf("write %d: the current tag got %d, want 304", i, r.StatusCode)
					case tag != cur && (r.StatusCode != http.StatusOK || b != want):
						t.Fatalf("write %d, tag %d: %d %q, the database gives %q", i, k, r.StatusCode, b, want)
					}
				}
				tags = append(tags, cur)
			}
			if tags[4] != tags[0] {
				t.Errorf("the first rows again gave tag %q, first %q", tags[4], tags[0])
			}
			if r, _ := s.get(t, url, "Cookie", cookie, "If-None-Match", tags[2]); r.StatusCode != http.StatusOK {
				t.Errorf("a tag of rows since rewritten: %d, want 200", r.StatusCode)
			}

			// A row the store lost: the handler reads it from the database
			// and answers the 304 itself.
			if err := s.store.Delete(context.Background(), s.authors.Key(0, a)); err != nil {
				t.Fatal(err)
			}
			s.queries.Reset()
			s.handlerReads = 0
			if r, _ := s.get(t, url, "Cookie", cookie, "If-None-Match", tags[0]); r.StatusCode != http.StatusNotModified || s.handlerReads != 1 || s.queries.Queries() != 1 {
				t.Errorf("lost row: %d, %d handler reads, %d queries; want 304 from the handler, 1 query", r.StatusCode, s.handlerReads, s.queries.Queries())
			}
		})
	}
}

// TestCacheOnStores: the page cache on each store keeps a page, serves it
// until a write changes its key (never after), bounds a page's size and
// lets a kept page expire.
func TestCacheOnStores(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s := newTwoTableSite(t, st.open(t), httpcache.CacheOptions{TTL: time.Second, MaxBytes: 64})
			p := &post{Title: "v0"}
			s.save(t, s.posts, p)
			s.insertAuthor(t, &post{ID: p.ID, Title: "x"})
			url := "/?id=" + strconv.FormatInt(p.ID, 10)
			for i := range 4 {
				for range 2 { // a render, then the kept page
					want := s.want(t, p.ID, "")
					if r, b := s.get(t, url); r.StatusCode != http.StatusOK || b != want {
						t.Fatalf("step %d: %d %q, the database gives %q", i, r.StatusCode, b, want)
					}
				}
				p.Title = "v" + strconv.Itoa((i+1)%2)
				s.save(t, s.posts, p)
			}
			if st := s.pages.Stats(); st.Hits < 1 || st.Hits+st.Renders != 8 || st.StoreErrors != 0 {
				t.Errorf("stats %+v, want 8 pages, kept ones among them", st)
			}

			// Over MaxBytes: rendered every time, never kept.
			long := &post{Title: strings.Repeat("l", 64)}
			s.save(t, s.posts, long)
			s.insertAuthor(t, &post{ID: long.ID, Title: "x"})
			before := s.pages.Stats()
			for range 2 {
				s.get(t, "/?id="+strconv.FormatInt(long.ID, 10))
			}
			if st := s.pages.Stats(); st.Renders-before.Renders != 2 || st.Stored != before.Stored {
				t.Errorf("a page over MaxBytes: stats %+v, before %+v", st, before)
			}

			// TTL: the kept page expires (memcached counts whole seconds).
			s.get(t, url)
			before = s.pages.Stats()
			if s.get(t, url); s.pages.Stats().Hits != before.Hits+1 {
				t.Fatalf("page not kept: %+v", s.pages.Stats())
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				before = s.pages.Stats()
				if s.get(t, url); s.pages.Stats().Renders > before.Renders {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("a page kept for a second still served after 5")
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// TestRevalidateRemembers: the Cache remembers the last Remember tags it
// sent, none when Remember is negative, and never a page showing a
// missing row; a forgotten tag is answered by the handler.
func TestRevalidateRemembers(t *testing.T) {
	for _, c := range []struct {
		remember int
		want     uint64 // 304s Revalidate answers of the two pages' tags
	}{{1, 1}, {2, 2}, {-1, 0}} {
		t.Run(strconv.Itoa(c.remember), func(t *testing.T) {
			s := newTwoTableSite(t, stores[0].open(t), httpcache.CacheOptions{Remember: c.remember})
			var tags []string
			for _, title := range []string{"one", "two"} {
				p := &post{Title: title}
				s.save(t, s.posts, p)
				s.insertAuthor(t, &post{ID: p.ID, Title: "x"})
				r, _ := s.get(t, "/?id="+strconv.FormatInt(p.ID, 10))
				tags = append(tags, r.Header.Get("ETag"))
			}
			for k := len(tags) - 1; k >= 0; k-- { // the last sent first
				if r, _ := s.get(t, "/?id="+strconv.Itoa(k+1), "If-None-Match", tags[k]); r.StatusCode != http.StatusNotModified {
					t.Errorf("page %d: %d, want 304", k+1, r.StatusCode)
				}
			}
			if st := s.pages.Stats(); st.Revalidated != c.want || st.NotModified != 2-c.want {
				t.Errorf("stats %+v, want %d 304s by Revalidate, the others by the handler", st, c.want)
			}
		})
	}
	// A page showing a missing row (the post has no author).
	s := newTwoTableSite(t, stores[0].open(t), httpcache.CacheOptions{})
	p := &post{Title: "orphan"}
	s.save(t, s.posts, p)
	url := "/?id=" + strconv.FormatInt(p.ID, 10)
	r, _ := s.get(t, url)
	if r, _ := s.get(t, url, "If-None-Match", r.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("orphan page: %d, want 304", r.StatusCode)
	}
	if st := s.pages.Stats(); st.Revalidated != 0 || st.NotModified != 1 {
		t.Errorf("stats %+v, want the handler's 304", st)
	}
}
