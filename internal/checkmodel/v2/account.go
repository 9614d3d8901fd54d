// Package v2 is the checker's model as the next build of the application
// maps it: the accounts table of package checkmodel with its nickname
// column, a nullable column the first build does not know, and a unique
// index on version, which the first build maps but does not declare (its
// writes lock those keys through the build board). Both map the same
// table; cmd/cachecheck -two-builds runs half its runtimes on each, on one
// store, as a rolling deploy that adds a column and an index does.
// account_cachegen.go beside this file is generated from its tags.
package v2

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

// Account is checkmodel.Account with the nickname column. The checker's
// writes through this build set Nickname to a value derived from Version,
// so a read through it shows whether the nickname came with its row.
// Version is unique across every write of a run, so this build declares
// it unique and reads by it (GetByVersion).
//
//cachegen:table accounts ttl=5s
type Account struct {
	ID       int64   `db:"id"       cache:"pk,manual"`
	Email    string  `db:"email"    cache:"unique"`
	Org      int64   `db:"org"      cache:"unique_together=org_handle"`
	Handle   string  `db:"handle"   cache:"unique_together=org_handle"`
	Version  int64   `db:"version"  cache:"unique"`
	Nickname *string `db:"nickname"`
}

// Session is checkmodel.Session in this build: its loaders read Account
// rows of this build's shape.
//
//cachegen:table sessions ttl=5s
type Session struct {
	ID        int64 `db:"id"         cache:"pk,manual"`
	AccountID int64 `db:"account_id" cache:"fk=Account"`
}
