package httpcache_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/httpcache"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/cachegen/cachegen/runtime/wire"
)

// post is a model written by hand the way cachegen generates one.
type post struct {
	ID    int64
	Title string
}

type postMapper struct{}

func (postMapper) Scan(s engine.Scanner, p *post) error { return s.Scan(&p.ID, &p.Title) }
func (postMapper) Values(p *post) []any                 { return []any{p.ID, p.Title} }
func (postMapper) PKIsZero(p *post) bool                { return p.ID == 0 }
func (postMapper) SetPK(p *post, id int64)              { p.ID = id }
func (postMapper) AppendKey(b []byte, _ int, p *post) []byte {
	return engine.AppendKeyInt(b, p.ID)
}
func (postMapper) Encode(b []byte, p *post) ([]byte, error) {
	return wire.AppendString(wire.AppendInt(b, p.ID), p.Title), nil
}
func (postMapper) Decode(b []byte, p *post) error {
	d := wire.NewSharedDecoder(b)
	p.ID, p.Title = d.Int(), d.String()
	return d.Finish()
}

var postSpec = engine.Spec[post]{
	Table:      "posts",
	SchemaHash: "0badf00d",
	Columns:    []string{"id", "title"},
	Indexes:    []engine.Index{{Name: "id", Columns: []int{0}}},
	AutoPK:     true,
	Mapper:     postMapper{},
}

// site is a post page served through httpcache, on SQLite and the memory
// store, counting renders and database queries. Tests that count run it in
// a synctest bubble: the store's leases run on the bubble's clock, not while
// SQLite answers, so a slow machine cannot expire a lease mid-fill and add
// a query.
type site struct {
	posts   *engine.Table[post]
	queries *dbtest.Counter
	renders int
	h       http.Handler
}

func newSite(t *testing.T, public bool) *site {
	t.Helper()
	db, count := dbtest.OpenSQLite(t)
	if _, err := db.Exec(`CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	posts, err := engine.NewTable(db, store, &postSpec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := &site{posts: posts, queries: count}
	s.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
		p := httpcache.New(r, "post-v1")
		row, err := posts.Get(r.Context(), 0, &post{ID: id})
		p.Row(posts.ValidatorOf(row, err))
		if public {
			p.Public(time.Minute)
		}
		if p.NotModified(w) {
			return
		}
		s.renders++
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		who, _ := r.Cookie("session")
		fmt.Fprintf(w, "<h1>%s</h1>", row.Title)
		if who != nil && !public {
			fmt.Fprintf(w, "<p>hello %s</p>", who.Value)
		}
	})
	return s
}

func (s *site) save(t *testing.T, p *post) {
	t.Helper()
	if err := s.posts.Save(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// get requests the post page with the given headers (name, value pairs).
func (s *site) get(t *testing.T, id int64, headers ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/?id="+strconv.FormatInt(id, 10), nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w.Result(), w.Body.String()
}

func TestRevalidatedFromCacheAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSite(t, false)
		p := &post{Title: "first"}
		s.save(t, p)
		s.queries.Reset()

		resp, body := s.get(t, p.ID)
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "first") || etag == "" {
			t.Fatalf("first request: %d %q etag %q", resp.StatusCode, body, etag)
		}
		// The row's one read filled the cache.
		if q := s.queries.Queries(); q != 1 {
			t.Errorf("first request sent %d database queries, want 1", q)
		}
		s.queries.Reset()
		resp, body = s.get(t, p.ID, "If-None-Match", etag)
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Fatalf("revalidation: %d %q, want 304 and no body", resp.StatusCode, body)
		}
		if got := resp.Header.Get("ETag"); got != etag {
			t.Errorf("304 carries ETag %q, want %q", got, etag)
		}
		if q := s.queries.Queries(); q != 0 {
			t.Errorf("revalidation of a cached row sent %d database queries, want 0", q)
		}
		if s.renders != 1 {
			t.Errorf("rendered %d times, want 1 (the 304 must come before rendering)", s.renders)
		}
	})
}

func TestWriteChangesETag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSite(t, false)
		p := &post{Title: "first"}
		s.save(t, p)
		other := &post{Title: "other"}
		s.save(t, other)
		resp, _ := s.get(t, p.ID)
		etag := resp.Header.Get("ETag")
		otherResp, _ := s.get(t, other.ID)

		p.Title = "edited"
		s.save(t, p)
		resp, body := s.get(t, p.ID, "If-None-Match", etag)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "edited") {
			t.Fatalf("after a write: %d %q, want 200 with the new title", resp.StatusCode, body)
		}
		if got := resp.Header.Get("ETag"); got == etag || got == "" {
			t.Errorf("ETag after a write is %q, want a new one (was %q)", got, etag)
		}
		// A page of a row the write did not touch keeps its ETag.
		resp, _ = s.get(t, other.ID, "If-None-Match", otherResp.Header.Get("ETag"))
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("untouched row's page: %d, want 304", resp.StatusCode)
		}
		// A deleted row changes the ETag too.
		resp, _ = s.get(t, p.ID)
		etag = resp.Header.Get("ETag")
		if err := s.posts.Delete(context.Background(), &post{ID: p.ID}); err != nil {
			t.Fatal(err)
		}
		if resp, _ = s.get(t, p.ID, "If-None-Match", etag); resp.StatusCode == http.StatusNotModified {
			t.Errorf("deleted row's page answered 304")
		}
	})
}

func TestCredentialsNeverShareETag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSite(t, false)
		p := &post{Title: "first"}
		s.save(t, p)
		for _, h := range []string{"Cookie", "Authorization"} {
			a := map[string]string{"Cookie": "session=alice", "Authorization": "Bearer alice"}[h]
			b := map[string]string{"Cookie": "session=bob", "Authorization": "Bearer bob"}[h]
			ra, _ := s.get(t, p.ID, h, a)
			rb, _ := s.get(t, p.ID, h, b)
			if ra.Header.Get("ETag") == rb.Header.Get("ETag") {
				t.Errorf("%s: two visitors got the same ETag %q", h, ra.Header.Get("ETag"))
			}
			// Bob presenting Alice's ETag gets his own page, not a 304.
			resp, body := s.get(t, p.ID, h, b, "If-None-Match", ra.Header.Get("ETag"))
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: %d for another visitor's ETag, want 200", h, resp.StatusCode)
			}
			if h == "Cookie" && !strings.Contains(body, "hello bob") {
				t.Errorf("Bob's page is %q", body)
			}
			// Anonymous visitors do not share one either.
			rn, _ := s.get(t, p.ID)
			if resp, _ := s.get(t, p.ID, h, a, "If-None-Match", rn.Header.Get("ETag")); resp.StatusCode == http.StatusNotModified {
				t.Errorf("%s: 304 across an anonymous and a signed-in visitor", h)
			}
			// The same visitor again does revalidate.
			if resp, _ := s.get(t, p.ID, h, a, "If-None-Match", ra.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
				t.Errorf("%s: same visitor got %d, want 304", h, resp.StatusCode)
			}
		}
	})
}

func TestCacheControlDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSite(t, false)
		p := &post{Title: "first"}
		s.save(t, p)
		resp, _ := s.get(t, p.ID, "Cookie", "session=alice")
		if got := resp.Header.Get("Cache-Control"); got != "private, no-cache" {
			t.Errorf("default Cache-Control %q, want private, no-cache", got)
		}
		if got := resp.Header.Get("Vary"); got != "Authorization, Cookie" {
			t.Errorf("default Vary %q, want Authorization, Cookie", got)
		}
		resp, _ = s.get(t, p.ID, "Cookie", "session=alice", "If-None-Match", resp.Header.Get("ETag"))
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Cache-Control") != "private, no-cache" || resp.Header.Get("Vary") == "" {
			t.Errorf("304 lacks the headers: %d %v", resp.StatusCode, resp.Header)
		}

		pub := newSite(t, true)
		pub.save(t, p)
		resp, _ = pub.get(t, p.ID, "Cookie", "session=alice")
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=60" {
			t.Errorf("Public page Cache-Control %q, want public, max-age=60", got)
		}
		if got := resp.Header.Get("Vary"); got != "" {
			t.Errorf("Public page Vary %q, want none", got)
		}
		rb, _ := pub.get(t, p.ID, "Cookie", "session=bob")
		if rb.Header.Get("ETag") != resp.Header.Get("ETag") {
			t.Errorf("a Public page's ETag depends on the cookie")
		}
	})
}

func TestVaryOnCookieOverridesPublic(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	p := httpcache.New(r, "v")
	p.VaryOnCookie()
	p.VaryOnHeaders("accept-language")
	p.Public(time.Hour)
	w := httptest.NewRecorder()
	p.NotModified(w)
	if got := w.Header().Get("Cache-Control"); got != "private, no-cache" {
		t.Errorf("Cache-Control %q, want private: the page varies on Cookie", got)
	}
	if got := w.Header().Get("Vary"); got != "Accept-Language, Authorization, Cookie" {
		t.Errorf("Vary %q", got)
	}

	// The varied header's value is in the ETag.
	etag := func(lang string) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Language", lang)
		p := httpcache.New(r, "v")
		p.VaryOnHeaders("Accept-Language")
		return p.ETag()
	}
	if etag("en") == etag("fr") {
		t.Errorf("ETag ignores a Vary'd header")
	}
}

func TestFailedRowIsNotCached(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	// The tag the page would have had without its failed row.
	r.Header.Set("If-None-Match", httpcache.New(r, "v").ETag())
	p := httpcache.New(r, "v")
	p.Row(engine.Validator{}, errors.New("database down"))
	w := httptest.NewRecorder()
	if p.NotModified(w) {
		t.Fatal("304 for a page whose row could not be read")
	}
	if w.Header().Get("ETag") != "" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v, want no ETag and no-store", w.Header())
	}
}

func TestVersionInETag(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	a, b := httpcache.New(r, "v1"), httpcache.New(r, "v2")
	a.Row(engine.Validator{}, nil)
	b.Row(engine.Validator{}, nil)
	if a.ETag() == b.ETag() {
		t.Errorf("the version does not enter the ETag")
	}
	// Parts are length-prefixed: versions ("ab") and ("a") then a row differ.
	c, d := httpcache.New(r, "ab"), httpcache.New(r, "a")
	d.Row(engine.Validator{}, nil)
	if c.ETag() == d.ETag() {
		t.Errorf("a row runs into the version")
	}
}

func TestConditionalRules(t *testing.T) {
	page := func(method, inm string) (bool, string) {
		r := httptest.NewRequest(method, "/", nil)
		p := httpcache.New(r, "v")
		p.Row(engine.Validator{}, nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		w := httptest.NewRecorder()
		return p.NotModified(w), p.ETag()
	}
	_, etag := page(http.MethodGet, "")
	strong := strings.TrimPrefix(etag, "W/")
	for _, c := range []struct {
		method, inm string
		want        bool
	}{
		{http.MethodGet, etag, true},
		{http.MethodHead, etag, true},
		{http.MethodGet, `"other", ` + etag, true},
		{http.MethodGet, strong, true}, // weak comparison
		{http.MethodGet, "*", false},   // the page may be a 404: render
		{http.MethodGet, `W/"other"`, false},
		{http.MethodPost, etag, false}, // a write always runs
	} {
		if got, _ := page(c.method, c.inm); got != c.want {
			t.Errorf("%s If-None-Match %s: NotModified %v, want %v", c.method, c.inm, got, c.want)
		}
	}
}
