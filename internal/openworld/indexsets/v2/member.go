// Package v2 is the newer build of the model indexsets runs: it declares a
// unique index on handle, which v1 maps, and on code, a nullable column v1
// does not map. member_cachegen.go beside this file is generated from its
// tags.
package v2

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import "database/sql"

// Member is a row of the shared table as the new build knows it.
//
//cachegen:table members
type Member struct {
	ID      int64          `db:"id"      cache:"pk"`
	Email   string         `db:"email"   cache:"unique"`
	Handle  string         `db:"handle"  cache:"unique"`
	Code    sql.NullString `db:"code"    cache:"unique"`
	Balance int64          `db:"balance"`
}
