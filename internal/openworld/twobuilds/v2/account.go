// Package v2 is the second build of the model twobuilds runs: it maps one
// column more (note, nullable, so the first build's inserts still work),
// declares it in the middle of the struct and names its unique_together
// group differently. account_cachegen.go beside this file is generated
// from its tags.
package v2

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import "database/sql"

// Account is a row of the shared table as the new build knows it.
//
//cachegen:table accounts
type Account struct {
	ID      int64          `db:"id"      cache:"pk"`
	Email   string         `db:"email"   cache:"unique"`
	Note    sql.NullString `db:"note"`
	Org     int64          `db:"org"     cache:"unique_together=handle_in_org"`
	Handle  string         `db:"handle"  cache:"unique_together=handle_in_org"`
	Balance int64          `db:"balance"`
}
