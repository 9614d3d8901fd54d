package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/examples/blog/web"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/httpcache"
)

// serveHTTP serves the blog's pages at addr until interrupted, on a user
// and a post it saves first, and then prints what the page cache did.
func serveHTTP(ctx context.Context, addr, dsn, redisAddrs string) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	db, closeDB, err := openDB(ctx, dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	store, storeOpts, closeStore, err := openStoreNear(ctx, redisAddrs, false)
	if err != nil {
		return err
	}
	defer closeStore()
	opts := append([]runtime.Option{runtime.WithPrefix(runName), runtime.WithVerify()}, storeOpts...)
	repos, err := models.NewRepos(db, store, opts...)
	if err != nil {
		return err
	}
	pages, err := httpcache.NewCache(store, httpcache.CacheOptions{Prefix: runName})
	if err != nil {
		return err
	}
	ada := &models.User{Email: "ada@example.com", OrgID: 1, Handle: "ada", Name: "Ada Lovelace"}
	if err := repos.Users.Save(ctx, ada); err != nil {
		return err
	}
	post := &models.Post{AuthorID: ada.ID, Slug: "engine", Title: "Notes on the Engine", Body: "The Analytical Engine weaves algebraic patterns."}
	if err := repos.Posts.Save(ctx, post); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: web.New(repos.Users, repos.Posts, pages), ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("database: %s, store: %s\n", db.DriverName(), storeName(redisAddrs, false))
	fmt.Printf("post page:   http://%s/posts/%d\nauthor page: http://%s/authors/%d\n", ln.Addr(), post.ID, ln.Addr(), ada.ID)
	fmt.Println("serving until interrupted")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	st := pages.Stats()
	fmt.Printf("pages: not_modified=%d kept_hits=%d renders=%d stored=%d store_errors=%d\n", st.NotModified, st.Hits, st.Renders, st.Stored, st.StoreErrors)
	return nil
}
