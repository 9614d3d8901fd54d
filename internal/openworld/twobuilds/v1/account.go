// Package v1 is the first build of the model twobuilds runs: the table
// without the note column. account_cachegen.go beside this file is
// generated from its tags.
package v1

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

// Account is a row of the shared table as the old build knows it.
//
//cachegen:table accounts
type Account struct {
	ID      int64  `db:"id"      cache:"pk"`
	Email   string `db:"email"   cache:"unique"`
	Org     int64  `db:"org"     cache:"unique_together=org_handle"`
	Handle  string `db:"handle"  cache:"unique_together=org_handle"`
	Balance int64  `db:"balance"`
}
