package httpcache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/httpcache"
	"github.com/cachegen/cachegen/runtime/memory"
	cachestore "github.com/cachegen/cachegen/runtime/store"
	"github.com/jmoiron/sqlx"
)

// cachedSite is a post page served through a page Cache. The handler
// takes the row's validator from the row it renders; rereads makes it
// read the row again while rendering instead (the mistake Serve's doc
// warns about), and during runs in the render, before the page is written.
type cachedSite struct {
	db      *sqlx.DB
	store   *memory.Store
	posts   *engine.Table[post]
	pages   *httpcache.Cache
	queries *dbtest.Counter
	rereads bool
	during  func()
	h       http.Handler
}

func newCachedSite(t *testing.T, opts httpcache.CacheOptions) *cachedSite {
	t.Helper()
	db, count := dbtest.OpenSQLite(t)
	db.MustExec(`CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL)`)
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	posts, err := engine.NewTable(db, store, &postSpec)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := httpcache.NewCache(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &cachedSite{db: db, store: store, posts: posts, pages: pages, queries: count}
	s.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
		p := httpcache.New(r, "post-v1")
		row, err := posts.Get(r.Context(), 0, &post{ID: id})
		p.Row(posts.ValidatorOf(row, err))
		s.pages.Serve(w, p, func(w http.ResponseWriter) {
			if s.during != nil {
				s.during()
			}
			if s.rereads {
				row, err = posts.Get(r.Context(), 0, &post{ID: id})
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			if c, _ := r.Cookie("session"); c != nil {
				fmt.Fprintf(w, "<p>hello %s</p>", c.Value)
			}
			if r.URL.Query().Has("login") {
				http.SetCookie(w, &http.Cookie{Name: "session", Value: "new"})
			}
			if r.URL.Query().Has("nostore") {
				w.Header().Set("Cache-Control", "no-store")
			}
			w.Header().Set("X-Title", row.Title)
			fmt.Fprintf(w, "<h1>%s</h1>", row.Title)
		})
	})
	return s
}

func (s *cachedSite) save(t *testing.T, p *post) {
	t.Helper()
	if err := s.posts.Save(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// dbTitle is the database's answer: the oracle every page is checked against.
func (s *cachedSite) dbTitle(t *testing.T, id int64) string {
	t.Helper()
	var title string
	if err := s.db.Get(&title, `SELECT title FROM posts WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	return title
}

func (s *cachedSite) get(t *testing.T, method, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w.Result(), w.Body.String()
}

func TestCacheServesKeptPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newCachedSite(t, httpcache.CacheOptions{})
		p := &post{Title: "first"}
		s.save(t, p)
		url := "/?id=" + strconv.FormatInt(p.ID, 10)
		r1, b1 := s.get(t, http.MethodGet, url)
		s.queries.Reset()
		r2, b2 := s.get(t, http.MethodGet, url)
		if r2.StatusCode != http.StatusOK || b2 != b1 || b2 != "<h1>first</h1>" {
			t.Fatalf("kept page: %d %q, want 200 %q", r2.StatusCode, b2, b1)
		}
		for _, h := range []string{"X-Title", "ETag", "Cache-Control", "Vary", "Content-Type"} {
			if r1.Header.Get(h) != r2.Header.Get(h) || r2.Header.Get(h) == "" {
				t.Errorf("%s: rendered %q, kept %q", h, r1.Header.Get(h), r2.Header.Get(h))
			}
		}
		if q := s.queries.Queries(); q != 0 {
			t.Errorf("a kept page of a cached row sent %d queries, want 0", q)
		}
		if st := s.pages.Stats(); st.Renders != 1 || st.Hits != 1 || st.Stored != 1 {
			t.Errorf("stats %+v, want 1 render, 1 hit, 1 stored", st)
		}
		// A HEAD is answered from the kept page, without its body.
		if r, b := s.get(t, http.MethodHead, url); r.StatusCode != http.StatusOK || b != "" || r.Header.Get("X-Title") != "first" {
			t.Errorf("HEAD: %d %q %v", r.StatusCode, b, r.Header)
		}
		// The browser's own copy still gets a 304 before anything else.
		if r, _ := s.get(t, http.MethodGet, url, "If-None-Match", r1.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
			t.Errorf("revalidation: %d, want 304", r.StatusCode)
		}
		if st := s.pages.Stats(); st.NotModified != 1 || st.Renders != 1 {
			t.Errorf("stats %+v, want 1 not-modified and still 1 render", st)
		}
	})
}

func TestCacheNeverStaleAfterWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newCachedSite(t, httpcache.CacheOptions{})
		p := &post{Title: "v0"}
		s.save(t, p)
		url := "/?id=" + strconv.FormatInt(p.ID, 10)
		// Titles come back (v0, v1, v0, ...): a kept page is found again
		// by its content, and must then show that content.
		for i := range 6 {
			for range 2 { // a render, then the kept page
				want := s.dbTitle(t, p.ID)
				r, b := s.get(t, http.MethodGet, url)
				if r.StatusCode != http.StatusOK || b != "<h1>"+want+"</h1>" {
					t.Fatalf("step %d: %d %q, the database holds %q", i, r.StatusCode, b, want)
				}
			}
			p.Title = "v" + strconv.Itoa((i+1)%2)
			s.save(t, p)
		}
		if st := s.pages.Stats(); st.Hits != 6+4 || st.Renders != 2 {
			t.Errorf("stats %+v, want 2 renders (one per content) and 10 hits", st)
		}
		// A deleted row's page is not the kept one.
		if err := s.posts.Delete(context.Background(), &post{ID: p.ID}); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.get(t, http.MethodGet, url); r.StatusCode != http.StatusNotFound {
			t.Errorf("deleted row: %d, want 404", r.StatusCode)
		}
	})
}

// TestCacheRenderRacingWrites: writes between the validator and the render
// (A to B, then back to A) cannot make a kept page show B under A's key
// when the page renders the row it took the validator of. The control,
// rereading the row in the render, keeps B under A's key, and the test
// catches it serving B while the database holds A.
func TestCacheRenderRacingWrites(t *testing.T) {
	for _, rereads := range []bool{false, true} {
		t.Run(fmt.Sprintf("rereads=%v", rereads), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newCachedSite(t, httpcache.CacheOptions{})
				s.rereads = rereads
				p := &post{Title: "A"}
				s.save(t, p)
				url := "/?id=" + strconv.FormatInt(p.ID, 10)
				s.during = func() {
					s.during = nil
					s.save(t, &post{ID: p.ID, Title: "B"})
				}
				s.get(t, http.MethodGet, url)
				s.save(t, &post{ID: p.ID, Title: "A"})
				want := s.dbTitle(t, p.ID)
				_, b := s.get(t, http.MethodGet, url)
				stale := b != "<h1>"+want+"</h1>"
				if stale != rereads {
					t.Errorf("page %q, the database holds %q: stale=%v, want %v", b, want, stale, rereads)
				}
			})
		})
	}
}

func TestCacheNeverAcrossVisitors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newCachedSite(t, httpcache.CacheOptions{})
		p := &post{Title: "first"}
		s.save(t, p)
		url := "/?id=" + strconv.FormatInt(p.ID, 10)
		for range 2 {
			for _, who := range []string{"alice", "bob"} {
				_, b := s.get(t, http.MethodGet, url, "Cookie", "session="+who)
				if !strings.Contains(b, "hello "+who) {
					t.Errorf("%s got %q", who, b)
				}
			}
			if _, b := s.get(t, http.MethodGet, url, "Authorization", "Bearer alice"); strings.Contains(b, "hello") {
				t.Errorf("a visitor with no cookie got %q", b)
			}
		}
		if st := s.pages.Stats(); st.Renders != 3 || st.Hits != 3 {
			t.Errorf("stats %+v, want 3 renders (one per visitor) and 3 hits", st)
		}
	})
}

func TestCacheKeepsOnlyPlainPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newCachedSite(t, httpcache.CacheOptions{MaxBytes: 64})
		p := &post{Title: "first"}
		s.save(t, p)
		long := &post{Title: strings.Repeat("x", 64)}
		s.save(t, long)
		id := strconv.FormatInt(p.ID, 10)
		for _, target := range []string{
			"/?login&id=" + id,                         // sets a cookie
			"/?nostore&id=" + id,                       // the render said no-store
			"/?id=" + strconv.FormatInt(long.ID, 10),   // over MaxBytes
			"/?id=" + strconv.FormatInt(long.ID+1, 10), // a 404
		} {
			for range 2 {
				s.get(t, http.MethodGet, target)
			}
		}
		s.get(t, http.MethodHead, "/?id="+id) // a HEAD renders no body to keep
		if st := s.pages.Stats(); st.Stored != 0 || st.Hits != 0 || st.NotStored != 9 {
			t.Errorf("stats %+v, want nothing kept, 9 not stored", st)
		}
		r, _ := s.get(t, http.MethodGet, "/?login&id="+id)
		if r.Header.Get("Set-Cookie") == "" {
			t.Errorf("the render's cookie did not reach the client")
		}
	})
}

func TestCacheIgnoresForeignBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newCachedSite(t, httpcache.CacheOptions{Prefix: "site"})
		p := &post{Title: "first"}
		s.save(t, p)
		url := "/?id=" + strconv.FormatInt(p.ID, 10)
		s.get(t, http.MethodGet, url)
		// Replace every kept page with garbage (truncations of a real one included).
		ctx := context.Background()
		var keys []string
		err := s.store.ScanKeys(ctx, "site:page:", func(k string) error { keys = append(keys, k); return nil })
		if err != nil || len(keys) != 1 {
			t.Fatalf("kept pages %v, %v", keys, err)
		}
		e, _ := s.store.Get(ctx, keys[0])
		for _, bad := range [][]byte{[]byte("junk"), e.Value[:len(e.Value)-1], append(e.Value[:len(e.Value):len(e.Value)], 'x')} {
			if err := s.store.Delete(ctx, keys[0]); err != nil {
				t.Fatal(err)
			}
			ok, _, _ := s.store.Lease(ctx, keys[0], "t", time.Second)
			filled, _ := s.store.Fill(ctx, keys[0], "t", cachestore.Entry{Kind: cachestore.CachedRow, Value: bad}, time.Second)
			if !ok || !filled {
				t.Fatal("could not plant bytes")
			}
			if r, b := s.get(t, http.MethodGet, url); r.StatusCode != http.StatusOK || b != "<h1>first</h1>" {
				t.Errorf("over %q: %d %q", bad, r.StatusCode, b)
			}
			// The rendered page replaced the bytes.
			if r, b := s.get(t, http.MethodGet, url); r.StatusCode != http.StatusOK || b != "<h1>first</h1>" {
				t.Errorf("after %q: %d %q", bad, r.StatusCode, b)
			}
		}
		if st := s.pages.Stats(); st.Hits != 3 || st.Renders != 4 {
			t.Errorf("stats %+v, want 4 renders and 3 hits", st)
		}
	})
}

func TestNewCacheOptions(t *testing.T) {
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := httpcache.NewCache(nil, httpcache.CacheOptions{}); err == nil {
		t.Error("nil store accepted")
	}
	if _, err := httpcache.NewCache(store, httpcache.CacheOptions{TTL: -1}); err == nil {
		t.Error("negative TTL accepted")
	}
	if _, err := httpcache.NewCache(store, httpcache.CacheOptions{MaxBytes: -1}); err == nil {
		t.Error("negative MaxBytes accepted")
	}
}

func TestNilCacheRendersOrRevalidates(t *testing.T) {
	var c *httpcache.Cache
	renders := 0
	serve := func(inm string) *http.Response {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		p := httpcache.New(r, "v")
		p.Row(engine.Validator{}, nil)
		w := httptest.NewRecorder()
		c.Serve(w, p, func(w http.ResponseWriter) { renders++; w.Write([]byte("page")) })
		return w.Result()
	}
	first := serve("")
	second := serve("")
	if renders != 2 || first.StatusCode != http.StatusOK || second.StatusCode != http.StatusOK {
		t.Errorf("without a cache: %d renders, %d and %d; want 2 renders of 200", renders, first.StatusCode, second.StatusCode)
	}
	if r := serve(first.Header.Get("ETag")); r.StatusCode != http.StatusNotModified || renders != 2 {
		t.Errorf("revalidation without a cache: %d, %d renders", r.StatusCode, renders)
	}
	if c.Stats() != (httpcache.CacheStats{}) {
		t.Errorf("a nil cache counted something")
	}
}

// TestCacheConcurrentWritesNeverStale: readers revalidate and reload a
// page while a writer cycles its title through three values (so contents
// come back, as in A, B, A). Every page a reader holds after a request,
// rendered, kept or confirmed by a 304, must show the title of a write
// that was not yet overwritten when the request started: one acknowledged
// before it, or one that started during it. The database is the oracle of
// what each write stored.
func TestCacheConcurrentWritesNeverStale(t *testing.T) {
	s := newCachedSite(t, httpcache.CacheOptions{})
	titles := [...]string{"A", "B", "C"}
	p := &post{Title: titles[0]}
	s.save(t, p)
	url := "/?id=" + strconv.FormatInt(p.ID, 10)
	const writes, readers = 100, 4
	var acked, started atomic.Int64 // the last write acknowledged, the last one begun
	done := make(chan struct{})
	var failed atomic.Bool
	go func() {
		defer close(done)
		for i := int64(1); i <= writes && !failed.Load(); i++ {
			started.Store(i)
			if err := s.posts.Save(context.Background(), &post{ID: p.ID, Title: titles[i%3]}); err != nil {
				t.Error(err)
				failed.Store(true)
				return
			}
			var got string
			if err := s.db.Get(&got, `SELECT title FROM posts WHERE id = ?`, p.ID); err != nil || got != titles[i%3] {
				t.Errorf("write %d: the database holds %q (%v)", i, got, err)
			}
			acked.Store(i)
		}
	}()
	var wg sync.WaitGroup
	var pages, notModified atomic.Int64
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var etag, body string
			for i := 0; !failed.Load(); i++ {
				select {
				case <-done:
					return
				default:
				}
				lo := acked.Load()
				inm := ""
				if (i+r)%2 == 0 {
					inm = etag // the browser revalidates its copy
				}
				req := httptest.NewRequest(http.MethodGet, url, nil)
				if inm != "" {
					req.Header.Set("If-None-Match", inm)
				}
				w := httptest.NewRecorder()
				s.h.ServeHTTP(w, req)
				hi := started.Load()
				switch w.Code {
				case http.StatusOK:
					etag, body = w.Header().Get("ETag"), w.Body.String()
				case http.StatusNotModified:
					notModified.Add(1)
				default:
					t.Errorf("status %d", w.Code)
					failed.Store(true)
					return
				}
				pages.Add(1)
				ok := false
				for k := lo; k <= hi && !ok; k++ {
					ok = body == "<h1>"+titles[k%3]+"</h1>"
				}
				if !ok {
					t.Errorf("reader %d holds %q after a request that began after write %d was acknowledged and ended before write %d began", r, body, lo, hi+1)
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	<-done
	st := s.pages.Stats()
	t.Logf("%d pages checked, %d of them 304s; page cache %+v", pages.Load(), notModified.Load(), st)
	if notModified.Load() == 0 || st.Hits == 0 {
		t.Errorf("the run never revalidated (%d) or served a kept page (%d): it checked nothing of the cache", notModified.Load(), st.Hits)
	}
}
