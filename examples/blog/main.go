// Command blog runs cachegen's generated repositories end to end. By
// default it uses an embedded SQLite database and the in-memory store, so no
// server is needed:
//
//	go run ./examples/blog
//	go run ./examples/blog -db postgres://postgres@127.0.0.1:5432/test -redis 127.0.0.1:6379
//	go run ./examples/blog -db mysql://root@127.0.0.1:3306/test -redis 127.0.0.1:6379
//	go run ./examples/blog -metrics :9090
//	go run ./examples/blog -cdc -db postgres://postgres@127.0.0.1:5433/test?sslmode=disable
//	go run ./examples/blog -http :8080
//
// -db and -redis default to $DATABASE_URL and $REDIS_ADDR. On a server the
// example works in a schema (a database, on MySQL) of its own and drops it
// when it ends; its keys carry a prefix of their own. With -metrics it
// serves Prometheus metrics on /metrics at that address while it runs and,
// once done, until it is interrupted. With -cdc it shows instead a raw SQL
// UPDATE, made outside the repository, becoming visible through the cache
// with no Invalidate call (a server with a change stream: PostgreSQL with
// wal_level=logical, MariaDB/MySQL with a ROW binlog). With -http it serves
// a post page and an author page with per-view caching (package web) until
// interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime"
)

func main() {
	dbFlag := flag.String("db", os.Getenv("DATABASE_URL"), "database: sqlite:PATH, postgres://… or mysql://… (default: a temporary SQLite file)")
	redisFlag := flag.String("redis", os.Getenv("REDIS_ADDR"), "Redis address(es), comma-separated for a Cluster (default: the in-memory store)")
	metricsFlag := flag.String("metrics", "", "serve Prometheus metrics on /metrics at this address (e.g. :9090) until interrupted")
	nearFlag := flag.Bool("near", false, "put a near cache in front of Redis (needs -redis)")
	cdcFlag := flag.Bool("cdc", false, "show a raw SQL UPDATE becoming visible through the cache via the change stream (needs -db postgres://… or mysql://… with it on)")
	httpFlag := flag.String("http", "", "serve the blog's pages at this address (e.g. :8080) until interrupted")
	flag.Parse()
	if *httpFlag != "" {
		if err := serveHTTP(context.Background(), *httpFlag, *dbFlag, *redisFlag); err != nil {
			fmt.Fprintln(os.Stderr, "blog:", err)
			os.Exit(1)
		}
		return
	}
	if *cdcFlag {
		if err := runCDC(context.Background(), os.Stdout, *dbFlag, *redisFlag); err != nil {
			fmt.Fprintln(os.Stderr, "blog:", err)
			os.Exit(1)
		}
		return
	}
	var tel *telemetry
	if *metricsFlag != "" {
		tel = newTelemetry()
		addr, err := tel.serve(*metricsFlag)
		if err != nil {
			fmt.Fprintln(os.Stderr, "blog:", err)
			os.Exit(1)
		}
		fmt.Printf("metrics: http://%s/metrics\n", addr)
	}
	if err := run(context.Background(), *dbFlag, *redisFlag, *nearFlag, tel); err != nil {
		fmt.Fprintln(os.Stderr, "blog:", err)
		os.Exit(1)
	}
	if err := runAuthors(context.Background(), *dbFlag, *redisFlag); err != nil {
		fmt.Fprintln(os.Stderr, "blog:", err)
		os.Exit(1)
	}
	if tel != nil {
		fmt.Println("serving metrics until interrupted")
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		<-stop
	}
}

// run is the example. tel, when not nil, observes every repository.
func run(ctx context.Context, dsn, redisAddrs string, near bool, tel *telemetry) error {
	db, closeDB, err := openDB(ctx, dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	store, storeOpts, closeStore, err := openStoreNear(ctx, redisAddrs, near)
	if err != nil {
		return err
	}
	defer closeStore()
	fmt.Printf("database: %s, store: %s\n", db.DriverName(), storeName(redisAddrs, near))
	// WithVerify checks each table against the models' tags before the
	// first query: a unique tag without a unique index fails here, not
	// with a wrong answer later.
	opts := append([]runtime.Option{runtime.WithPrefix(runName), runtime.WithVerify()}, storeOpts...)
	if tel != nil {
		opts = append(opts, tel.options()...)
	}
	users, err := models.NewUserRepo(db, store, opts...)
	if err != nil {
		return err
	}
	posts, err := models.NewPostRepo(db, store, opts...)
	if err != nil {
		return err
	}
	if tel != nil {
		tel.register("users", users.Stats)
		tel.register("posts", posts.Stats)
	}

	ada := &models.User{Email: "ada@example.com", OrgID: 1, Handle: "ada", Name: "Ada Lovelace"}
	if err := users.Save(ctx, ada); err != nil {
		return err
	}
	fmt.Printf("saved user %d (%s)\n", ada.ID, ada.Email)
	post := &models.Post{AuthorID: ada.ID, Slug: "engine", Title: "Notes on the Engine", Body: "…", Author: ada}
	if err := posts.Save(ctx, post); err != nil {
		return err
	}
	fmt.Printf("saved post %d (%s)\n", post.ID, post.Slug)

	for i := 1; i <= 2; i++ {
		u, err := users.GetByID(ctx, ada.ID)
		if err != nil {
			return err
		}
		p, err := posts.GetBySlug(ctx, "engine")
		if err != nil {
			return err
		}
		fmt.Printf("read %d: user %q, post %q (author loaded from cache: %v)\n", i, u.Name, p.Title, p.Author != nil)
	}
	report("after two reads", users, posts)

	ada.Email = "ada@analytical.org"
	if err := users.Save(ctx, ada); err != nil {
		return err
	}
	if _, err := users.GetByEmail(ctx, "ada@example.com"); errors.Is(err, runtime.ErrNotFound) {
		fmt.Println("old email: not found, as it should be")
	} else {
		return fmt.Errorf("old email still answers: %v", err)
	}
	u, err := users.GetByOrgIDHandle(ctx, 1, "ada")
	if err != nil {
		return err
	}
	fmt.Printf("by org and handle: %s\n", u.Email)

	if err := posts.Delete(ctx, post.ID); err != nil {
		return err
	}
	if _, err := posts.GetByID(ctx, post.ID); errors.Is(err, runtime.ErrNotFound) {
		fmt.Println("deleted post: not found")
	} else {
		return fmt.Errorf("deleted post still answers: %v", err)
	}
	all, err := users.All(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("all users: %d\n", len(all))
	report("at the end", users, posts)
	return nil
}

func storeName(redisAddrs string, near bool) string {
	switch {
	case redisAddrs == "":
		return "memory"
	case near:
		return "redis " + redisAddrs + " with a near cache"
	}
	return "redis " + redisAddrs
}

func report(when string, users *models.UserRepo, posts *models.PostRepo) {
	for _, r := range []struct {
		name string
		s    runtime.Stats
	}{{"users", users.Stats()}, {"posts", posts.Stats()}} {
		fmt.Printf("%s, %s: hits=%d near_hits=%d misses=%d fills=%d db_reads=%d db_writes=%d invalidations=%d\n",
			when, r.name, r.s.Hits, r.s.NearHits, r.s.Misses, r.s.Fills, r.s.DBReads, r.s.DBWrites, r.s.Invalidations)
	}
}
