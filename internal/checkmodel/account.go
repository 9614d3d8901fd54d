// Package checkmodel is the model cmd/cachecheck runs its histories on:
// one table whose rows carry a version that names the write that produced
// them, and a change log the database writes in the same transaction, so
// the checker knows the exact order in which writes to a row committed.
// account_cachegen.go beside this file is generated from its tags.
//
// Package v2 below is the same table as the next build of the application
// maps it, with a column more: the checker's -two-builds mode runs both
// builds on one store at once, as a rolling deploy does.
package checkmodel

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

// Account is one row of the checker's hot key set. ID is assigned by the
// checker; Email is unique and so is (Org, Handle), and the checker's writes
// move those values between rows. Version is unique across every write of
// a run: a read's result names the write that produced it. The table's
// nickname column, which only the next build maps (package v2), is left as
// it is by this build's updates and is NULL in the rows it inserts.
//
//cachegen:table accounts ttl=5s
type Account struct {
	ID      int64  `db:"id"      cache:"pk,manual"`
	Email   string `db:"email"   cache:"unique"`
	Org     int64  `db:"org"     cache:"unique_together=org_handle"`
	Handle  string `db:"handle"  cache:"unique_together=org_handle"`
	Version int64  `db:"version"`
}

// Session references an Account: the checker reads accounts through its
// loaders too (LoadAccount, LoadAccounts), which find the Account
// repository in the registry NewRepos wires and read through its cache.
// The checker builds sessions in memory and never stores them; the table
// exists so that the model maps a real one.
//
//cachegen:table sessions ttl=5s
type Session struct {
	ID        int64 `db:"id"         cache:"pk,manual"`
	AccountID int64 `db:"account_id" cache:"fk=Account"`
}
