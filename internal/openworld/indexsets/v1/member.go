// Package v1 is the older build of the model indexsets runs: it maps
// handle without indexing it and does not map code. member_cachegen.go
// beside this file is generated from its tags.
package v1

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

// Member is a row of the shared table as the old build knows it.
//
//cachegen:table members
type Member struct {
	ID      int64  `db:"id"      cache:"pk"`
	Email   string `db:"email"   cache:"unique"`
	Handle  string `db:"handle"`
	Balance int64  `db:"balance"`
}
