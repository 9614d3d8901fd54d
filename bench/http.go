package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/examples/blog/web"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/httpcache"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
)

// The per-view figures serve the blog's post page (examples/blog/web: a
// post and its author) in process, through ServeHTTP and a recorder: what
// is timed is the server's work, not the loopback.

// page requests the post page of id as visitor, with If-None-Match etag
// when it is not empty, and returns the response's status and ETag.
func page(h http.Handler, id int64, visitor, etag string) (int, string) {
	r := httptest.NewRequest(http.MethodGet, "/posts/"+strconv.FormatInt(id, 10), nil)
	r.Header.Set("Cookie", "visitor="+visitor)
	if etag != "" {
		r.Header.Set("If-None-Match", etag)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Header().Get("Etag")
}

// httpOps are the requests the per-view figures time: the post page
// rendered (no page cache, the rows cache hits), revalidated (304: the
// page Cache's Revalidate reads the post and its author again in one
// batch), and served from the page cache; each on Redis and on a near
// cache in front of it.
type httpOps struct {
	render, revalidate, kept, nearRender, nearRevalidate func() error
}

func (e *env) httpOps() (httpOps, error) {
	pages, err := httpcache.NewCache(e.store, httpcache.CacheOptions{Prefix: e.prefix})
	if err != nil {
		return httpOps{}, err
	}
	nearPages, err := httpcache.NewCache(e.store, httpcache.CacheOptions{Prefix: e.prefix + ":near"})
	if err != nil {
		return httpOps{}, err
	}
	plain := web.New(e.users, e.posts, nil)
	kept := web.New(e.users, e.posts, pages)
	near := web.New(e.nearUsers, e.nearPosts, nil)
	nearKept := web.New(e.nearUsers, e.nearPosts, nearPages)
	const id = 1
	want := func(h http.Handler, etag string, code int) func() error {
		return func() error {
			if got, _ := page(h, id, "alice", etag); got != code {
				return fmt.Errorf("post page: status %d, want %d", got, code)
			}
			return nil
		}
	}
	code, etag := page(plain, id, "alice", "")
	if code != http.StatusOK || etag == "" {
		return httpOps{}, fmt.Errorf("post page: status %d, ETag %q", code, etag)
	}
	// Keeps the page, and the Caches remember the rows of the ETag sent.
	for _, h := range []http.Handler{kept, nearKept} {
		if code, tag := page(h, id, "alice", ""); code != http.StatusOK || tag != etag {
			return httpOps{}, fmt.Errorf("post page: status %d, ETag %q, want %q", code, tag, etag)
		}
	}
	// The 304s are Revalidate's, not the handler's.
	for _, site := range []struct {
		h     http.Handler
		pages *httpcache.Cache
	}{{kept, pages}, {nearKept, nearPages}} {
		if code, _ := page(site.h, id, "alice", etag); code != http.StatusNotModified || site.pages.Stats().Revalidated != 1 {
			return httpOps{}, fmt.Errorf("post page revalidated: status %d, stats %+v", code, site.pages.Stats())
		}
	}
	return httpOps{
		render:         want(plain, "", http.StatusOK),
		revalidate:     want(kept, etag, http.StatusNotModified),
		kept:           want(kept, "", http.StatusOK),
		nearRender:     want(near, "", http.StatusOK),
		nearRevalidate: want(nearKept, etag, http.StatusNotModified),
	}, nil
}

// httpMix serves the post page under the load mix of loadMix: Zipf(1.1)
// over 10,000 posts (of 1,000 authors), 8 goroutines, 1 % of the
// operations writes (a post's title, through a second instance's
// repositories on the same store). Each goroutine is a visitor with a
// browser cache: it revalidates the pages it has seen. The pages are kept
// in the same Redis store. It returns the database queries of the serving
// repositories per 1,000 requests, warmed as loadMix's steady figure is
// (every row read once, then a run of the same mix).
func (e *env) httpMix(ctx context.Context) (float64, error) {
	const posts, ops, workers = 10000, 40000, 8
	db, err := e.openSchema(ctx, e.schema+"_http", 1000)
	if err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO posts (author_id, slug, title, body)
		SELECT 1 + g % 1000, 'post-' || g, 'Title ' || g, 'A body of some length, as posts have.' FROM generate_series(1, $1) g`, posts); err != nil {
		return 0, err
	}
	prefix := e.prefix + "http"
	e.cleanups = append(e.cleanups, func() { e.deleteKeys(prefix + ":*") })
	store, err := cgredis.New(e.client, cgredis.Options{})
	if err != nil {
		return 0, err
	}
	serving, err := models.NewRepos(db, store, runtime.WithPrefix(prefix))
	if err != nil {
		return 0, err
	}
	writers, err := models.NewRepos(db, store, runtime.WithPrefix(prefix))
	if err != nil {
		return 0, err
	}
	pages, err := httpcache.NewCache(store, httpcache.CacheOptions{Prefix: prefix})
	if err != nil {
		return 0, err
	}
	site := web.New(serving.Users, serving.Posts, pages)
	run := func(seed uint64) (requests int64, err error) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		fail := func(e error) {
			mu.Lock()
			err = e
			mu.Unlock()
		}
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(seed, uint64(w)))
				z := newZipf(r, 1.1, posts)
				visitor := "visitor" + strconv.Itoa(w)
				seen := map[int64]string{} // the browser's cache: ETags by post
				var n int64
				for i := 0; i < ops/workers; i++ {
					id := int64(z.next()) + 1
					if r.IntN(100) == 0 {
						p, gerr := writers.Posts.GetByID(ctx, id)
						if gerr == nil {
							p.Title = fmt.Sprint("edit ", i)
							gerr = writers.Posts.Save(ctx, p)
						}
						if gerr != nil {
							fail(gerr)
							return
						}
						continue
					}
					code, etag := page(site, id, visitor, seen[id])
					if code != http.StatusOK && code != http.StatusNotModified {
						fail(fmt.Errorf("post %d: status %d", id, code))
						return
					}
					seen[id] = etag
					n++
				}
				mu.Lock()
				requests += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		return requests, err
	}
	queries := func() uint64 { return serving.Users.Stats().DBReads + serving.Posts.Stats().DBReads }
	// Warm as loadMix's steady figure is: every row read once, in batches.
	for _, warm := range []struct {
		rows int
		get  func([]int64) error
	}{
		{posts, func(ids []int64) error { _, err := serving.Posts.GetByIDs(ctx, ids); return err }},
		{1000, func(ids []int64) error { _, err := serving.Users.GetByIDs(ctx, ids); return err }},
	} {
		for from := 1; from <= warm.rows; from += 500 {
			ids := make([]int64, 0, 500)
			for id := from; id < from+500 && id <= warm.rows; id++ {
				ids = append(ids, int64(id))
			}
			if err := warm.get(ids); err != nil {
				return 0, err
			}
		}
	}
	if _, err := run(1); err != nil {
		return 0, err
	}
	before := queries()
	requests, err := run(2)
	if err != nil {
		return 0, err
	}
	return float64(queries()-before) / float64(requests) * 1000, nil
}
