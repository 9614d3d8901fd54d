package main

import (
	"context"
	"fmt"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime"
)

// runAuthors is the example's second part, on a fresh database and store
// like the first: foreign keys read through the cache. A post's cached copy
// never holds its author; PostRepo.LoadAuthors reads the authors of many
// posts through UserRepo instead, with one batch.
func runAuthors(ctx context.Context, dsn, redisAddrs string) error {
	db, closeDB, err := openDB(ctx, dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	store, closeStore, err := openStore(ctx, redisAddrs)
	if err != nil {
		return err
	}
	defer closeStore()
	// Every repository of the package, wired so that a post's loaders read
	// its author through the users repository and its cache.
	repos, err := models.NewRepos(db, store, runtime.WithPrefix(runName))
	if err != nil {
		return err
	}
	return authorsOfPosts(ctx, repos.Users, repos.Posts)
}

// authorsOfPosts writes 100 posts by 30 authors, then loads the author of
// every post twice, cold and warm, printing what each load cost: one batch
// read of the users' cache, and one query for the authors it missed.
func authorsOfPosts(ctx context.Context, users *models.UserRepo, posts *models.PostRepo) error {
	authors := make([]*models.User, 30)
	for i := range authors {
		u := &models.User{Email: fmt.Sprintf("author%d@example.com", i), OrgID: 2, Handle: fmt.Sprintf("author%d", i), Name: fmt.Sprintf("Author %d", i)}
		if err := users.Save(ctx, u); err != nil {
			return err
		}
		authors[i] = u
	}
	ids := make([]int64, 100)
	for i := range ids {
		p := &models.Post{AuthorID: authors[i%len(authors)].ID, Slug: fmt.Sprintf("post-%d", i), Title: fmt.Sprintf("Post %d", i), Body: "…"}
		if err := posts.Save(ctx, p); err != nil {
			return err
		}
		ids[i] = p.ID
	}
	list, err := posts.GetByIDs(ctx, ids)
	if err != nil {
		return err
	}
	for _, pass := range []string{"cold", "warm"} {
		before := users.Stats()
		loaded, err := posts.LoadAuthors(ctx, list)
		if err != nil {
			return err
		}
		after := users.Stats()
		for i, p := range list {
			p.Author = loaded[i]
		}
		fmt.Printf("authors of %d posts (%d distinct), %s: database queries %d, cache hits %d, misses %d\n",
			len(list), len(authors), pass, after.DBReads-before.DBReads, after.Hits-before.Hits, after.Misses-before.Misses)
	}
	fmt.Printf("%q is by %s\n", list[1].Title, list[1].Author.Name)

	// A write to an author is seen at once through the loader: the cached
	// post never held the author, and the author's own keys were invalidated.
	a := authors[1]
	a.Name = "Author 1, renamed"
	if err := users.Save(ctx, a); err != nil {
		return err
	}
	author, err := posts.LoadAuthor(ctx, list[1])
	if err != nil {
		return err
	}
	fmt.Printf("after the author is renamed, %q is by %s\n", list[1].Title, author.Name)
	return nil
}
