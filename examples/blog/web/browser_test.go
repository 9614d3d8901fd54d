package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/examples/blog/web"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime/httpcache"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/jmoiron/sqlx"
)

// blog is the example's server on SQLite and the memory store, counting
// the status codes it answers the pages with (server-side: a 304 counted
// here is one the browser asked for with If-None-Match).
type blog struct {
	db    *sqlx.DB
	repos *models.Repos
	pages *httpcache.Cache
	url   string

	mu     sync.Mutex
	status map[int]int
}

func newBlog(t *testing.T) *blog {
	t.Helper()
	db, _ := dbtest.OpenSQLite(t)
	db.MustExec(models.SQLiteSchema)
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	repos, err := models.NewRepos(db, store)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := httpcache.NewCache(store, httpcache.CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := &blog{db: db, repos: repos, pages: pages, status: map[int]int{}}
	site := web.New(repos.Users, repos.Posts, pages)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		site.ServeHTTP(sw, r)
		if strings.HasPrefix(r.URL.Path, "/posts/") || strings.HasPrefix(r.URL.Path, "/authors/") {
			b.mu.Lock()
			b.status[sw.code]++
			b.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	b.url = srv.URL
	return b
}

// counts returns how many pages the server answered 200 and 304.
func (b *blog) counts() (ok, notModified int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status[http.StatusOK], b.status[http.StatusNotModified]
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// TestBrowser drives headless Chromium through the blog: a reload is
// answered 304, a write made through a repository shows on the next
// reload with a 200, and two visitors (cookies) never see each other's
// page. Every title shown is checked against the database's.
func TestBrowser(t *testing.T) {
	bin := testenv.Browser(t)
	b := newBlog(t)
	ctx := context.Background()
	ada := &models.User{Email: "ada@example.com", OrgID: 1, Handle: "ada", Name: "Ada Lovelace"}
	if err := b.repos.Users.Save(ctx, ada); err != nil {
		t.Fatal(err)
	}
	post := &models.Post{AuthorID: ada.ID, Slug: "engine", Title: "Notes on the Engine", Body: "…"}
	if err := b.repos.Posts.Save(ctx, post); err != nil {
		t.Fatal(err)
	}
	postURL := b.url + "/posts/" + strconv.FormatInt(post.ID, 10)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.DisableGPU)
	if os.Geteuid() == 0 { // Chromium refuses to run as root in its sandbox
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	// Each visitor browses in a browser context of their own (own cookies,
	// own HTTP cache), as two people on two machines would.
	visitor := func(name string) context.Context {
		c, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		if _, err := chromedp.Call(c, network.SetCookie, network.SetCookieParams{Name: "visitor", Value: name, URL: b.url}); err != nil {
			t.Fatalf("cookie of %s: %v", name, err)
		}
		return c
	}
	// show runs the navigation in c and returns the page's #title (or
	// #name) and #visitor.
	show := func(c context.Context, nav chromedp.Action[chromedp.Void], sel string) (text, who string) {
		t.Helper()
		if err := chromedp.Do(c, nav); err != nil {
			t.Fatal(err)
		}
		return read(t, c, sel), read(t, c, "#visitor")
	}
	dbTitle := func() string {
		t.Helper()
		var title string
		if err := b.db.Get(&title, `SELECT title FROM posts WHERE id = ?`, post.ID); err != nil {
			t.Fatal(err)
		}
		return title
	}
	// step checks what a navigation showed and what the server answered.
	step := func(name, gotTitle, wantTitle, gotWho, wantWho string, want200, want304 int) {
		t.Helper()
		ok, nm := b.counts()
		t.Logf("%s: %q, %q; server answered 200 × %d, 304 × %d", name, gotTitle, gotWho, ok, nm)
		if gotTitle != wantTitle {
			t.Errorf("%s: the browser shows %q, the database holds %q", name, gotTitle, wantTitle)
		}
		if gotWho != wantWho {
			t.Errorf("%s: the browser shows %q, want %q: another visitor's page", name, gotWho, wantWho)
		}
		if ok != want200 || nm != want304 {
			t.Errorf("%s: the server answered 200 × %d and 304 × %d, want %d and %d", name, ok, nm, want200, want304)
		}
	}

	alice := visitor("alice")
	title, who := show(alice, chromedp.Navigate(postURL), "#title")
	step("alice loads the post", title, dbTitle(), who, "Signed in as alice", 1, 0)
	title, who = show(alice, chromedp.Reload(), "#title")
	step("alice reloads", title, dbTitle(), who, "Signed in as alice", 1, 1)

	post.Title = "Notes on the Analytical Engine"
	if err := b.repos.Posts.Save(ctx, post); err != nil {
		t.Fatal(err)
	}
	title, who = show(alice, chromedp.Reload(), "#title")
	step("alice reloads after an edit", title, dbTitle(), who, "Signed in as alice", 2, 1)
	title, who = show(alice, chromedp.Reload(), "#title")
	step("alice reloads again", title, dbTitle(), who, "Signed in as alice", 2, 2)

	bob := visitor("bob")
	title, who = show(bob, chromedp.Navigate(postURL), "#title")
	step("bob loads the post", title, dbTitle(), who, "Signed in as bob", 3, 2)
	title, who = show(bob, chromedp.Reload(), "#title")
	step("bob reloads", title, dbTitle(), who, "Signed in as bob", 3, 3)
	title, who = show(alice, chromedp.Reload(), "#title")
	step("alice reloads after bob", title, dbTitle(), who, "Signed in as alice", 3, 4)

	// The post page shows its author's row too: renaming her changes it.
	ada.Name = "Augusta Ada King"
	if err := b.repos.Users.Save(ctx, ada); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bob, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	byline := read(t, bob, "#author")
	if ok, nm := b.counts(); byline != "by Augusta Ada King" || ok != 4 || nm != 4 {
		t.Errorf("bob reloads after the author's rename: byline %q, 200 × %d, 304 × %d; want the new name, 4 and 4", byline, ok, nm)
	}
	name, who := show(alice, chromedp.Navigate(b.url+"/authors/"+strconv.FormatInt(ada.ID, 10)), "#name")
	step("alice opens the author page", name, "Augusta Ada King", who, "Signed in as alice", 5, 4)
	name, who = show(alice, chromedp.Reload(), "#name")
	step("alice reloads the author page", name, "Augusta Ada King", who, "Signed in as alice", 5, 5)

	st := b.pages.Stats()
	t.Logf("page cache: %+v", st)
	// Every reload is of a page this server sent: Revalidate answers each
	// 304 before the handler reads a row, and finds the two tags made
	// stale by the edit and the rename.
	if st.Revalidated != 5 || st.NotModified != 0 || st.RevalidationMisses != 2 || st.Renders != 5 {
		t.Errorf("page cache counted %d 304s by Revalidate (want 5), %d by the handler (want 0), %d stale tags (want 2), %d renders (want 5)",
			st.Revalidated, st.NotModified, st.RevalidationMisses, st.Renders)
	}
}

// read returns the text of the element sel (a CSS selector) of c's page.
func read(t *testing.T, c context.Context, sel string) string {
	t.Helper()
	text, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return text
}
