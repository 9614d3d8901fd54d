// Package web serves the blog example over HTTP with per-view caching
// (runtime/httpcache): a post page (/posts/{id}: the post and its author)
// and an author page (/authors/{id}). Each page's ETag comes from the rows
// it shows, read through the repositories' cache, so a browser's reload is
// answered 304 with no rendering and, when the rows are cached, no
// database query. A reload the Cache sent the ETag of costs one store
// round trip (Cache.Revalidate reads the page's rows in one batch, before
// the handler reads them one by one). A write to either row changes the
// ETag at once. Rendered pages
// are kept in the repositories' store (httpcache.Cache) under that ETag.
//
// Pages greet the visitor named by the "visitor" cookie: they vary on
// Cookie (httpcache's default), so one visitor never gets another's page.
package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/httpcache"
)

// Server is the blog's HTTP handler.
type Server struct {
	users *models.UserRepo
	posts *models.PostRepo
	pages *httpcache.Cache
	mux   *http.ServeMux
}

// New returns the blog's handler on the repositories, keeping rendered
// pages in pages.
func New(users *models.UserRepo, posts *models.PostRepo, pages *httpcache.Cache) *Server {
	s := &Server{users: users, posts: posts, pages: pages, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /posts/{id}", s.post)
	s.mux.HandleFunc("GET /authors/{id}", s.author)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Versions of the pages' templates, in their ETags: change one with its
// template, or browsers keep the old page.
const (
	postVersion   = "post-v1"
	authorVersion = "author-v1"
)

var (
	postPage = template.Must(template.New("post").Parse(`<!doctype html>
<title>{{.Post.Title}}</title>
<h1 id="title">{{.Post.Title}}</h1>
<p id="author">by {{if .Author}}<a href="/authors/{{.Author.ID}}">{{.Author.Name}}</a>{{else}}an unknown author{{end}}</p>
<div id="body">{{.Post.Body}}</div>
<p id="visitor">{{if .Visitor}}Signed in as {{.Visitor}}{{else}}Not signed in{{end}}</p>
`))
	authorPage = template.Must(template.New("author").Parse(`<!doctype html>
<title>{{.Author.Name}}</title>
<h1 id="name">{{.Author.Name}}</h1>
<p id="email">{{.Author.Email}}</p>
<p id="visitor">{{if .Visitor}}Signed in as {{.Visitor}}{{else}}Not signed in{{end}}</p>
`))
)

// post serves /posts/{id}: the post and its author, two rows. The page is
// rendered from the rows its validators were taken from.
func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p := httpcache.New(r, postVersion)
	if s.pages.Revalidate(w, p) { // the post and its author, in one store read
		return
	}
	post, err := s.posts.GetByID(ctx, id)
	p.Row(s.posts.Validator(post, err))
	var author *models.User
	if err == nil {
		var aerr error
		author, aerr = s.users.GetByID(ctx, post.AuthorID)
		p.Row(s.users.Validator(author, aerr))
		if aerr != nil && !errors.Is(aerr, runtime.ErrNotFound) {
			err = aerr
		}
	}
	s.pages.Serve(w, p, func(w http.ResponseWriter) {
		if !answered(w, err) {
			render(w, postPage, map[string]any{"Post": post, "Author": author, "Visitor": visitor(r)})
		}
	})
}

// author serves /authors/{id}.
func (s *Server) author(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	p := httpcache.New(r, authorVersion)
	if s.pages.Revalidate(w, p) {
		return
	}
	author, err := s.users.GetByID(r.Context(), id)
	p.Row(s.users.Validator(author, err))
	s.pages.Serve(w, p, func(w http.ResponseWriter) {
		if !answered(w, err) {
			render(w, authorPage, map[string]any{"Author": author, "Visitor": visitor(r)})
		}
	})
}

// pathID reads {id}, answering 404 when it is not a number.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return 0, false
	}
	return id, true
}

// answered writes the error page of a failed read, if there is one.
func answered(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, runtime.ErrNotFound):
		http.Error(w, "not found", http.StatusNotFound)
	default:
		http.Error(w, "the blog cannot read its database", http.StatusInternalServerError)
	}
	return true
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(w, data); err != nil {
		http.Error(w, "rendering failed", http.StatusInternalServerError)
	}
}

// visitor is the name the "visitor" cookie carries, if any.
func visitor(r *http.Request) string {
	if c, err := r.Cookie("visitor"); err == nil {
		return c.Value
	}
	return ""
}
