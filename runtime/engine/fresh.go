package engine

import "context"

// freshKey marks a context whose reads skip the cache.
type freshKey struct{}

// Fresh returns a context under which every repository read (Get, GetMany,
// All, and the related-object loaders, which read through them) goes to the
// database, for read-modify-write flows that must not act on a cached copy.
// Such a read neither reads nor changes the cache: the near cache and the
// store are not asked, nothing is filled, and the cached copy stays as it
// was (a row changed outside the repositories still needs InvalidateByPK or InvalidateRows).
// Inside a transaction reads already go to the database, through it.
//
// The mark travels with the context: derive it for the calls that need it,
// not for a whole request.
func Fresh(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, true)
}

// IsFresh reports whether ctx was made by Fresh (or derives from one).
func IsFresh(ctx context.Context) bool {
	v, _ := ctx.Value(freshKey{}).(bool)
	return v
}
