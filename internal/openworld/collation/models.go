// Package collation checks that every lookup answers what the database
// answers for it, cached or not, when the database compares text more
// loosely than byte for byte: case- and accent-insensitive collations,
// PAD SPACE, CHAR columns, citext, nondeterministic ICU collations, and a
// named type whose driver.Valuer normalises the value it binds.
// models_cachegen.go beside this file is generated from its tags.
package collation

import (
	"database/sql/driver"
	"strings"
)

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

// Member has a unique text column and a unique (int, text) group.
//
//cachegen:table members
type Member struct {
	ID     int64  `db:"id"     cache:"pk,manual"`
	Email  string `db:"email"  cache:"unique"`
	Org    int64  `db:"org"    cache:"unique_together=org_handle"`
	Handle string `db:"handle" cache:"unique_together=org_handle"`
}

// Login has a text primary key, which posts reference: the loaders of Post
// read it through GetByNames.
//
//cachegen:table logins
type Login struct {
	Name string `db:"name" cache:"pk,manual"`
	Note string `db:"note"`
}

// Post references a Login by its text key.
//
//cachegen:table posts
type Post struct {
	ID    int64  `db:"id"    cache:"pk,manual"`
	Login string `db:"login" cache:"fk=Login"`
}

// Lower is an email whose driver.Valuer lower-cases it: the database holds
// and compares the lower-cased form, whatever spelling the lookup has.
type Lower string

// Value binds the lower-cased email.
func (l Lower) Value() (driver.Value, error) { return strings.ToLower(string(l)), nil }

// Folded has a unique column of type Lower on a binary column.
//
//cachegen:table folded
type Folded struct {
	ID    int64 `db:"id"    cache:"pk,manual"`
	Email Lower `db:"email" cache:"unique"`
}
