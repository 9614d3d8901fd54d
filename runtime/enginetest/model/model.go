// Package model holds the tagged models the engine suite
// (runtime/enginetest) runs the runtime on; model_cachegen.go beside this
// file is generated from their tags. User has every kind of index (the
// primary key, a unique text column, a unique_together group) and a related
// list; Post has a foreign key to User, for the loaders; Wide has more than
// nine columns, so that its statements bind $10 and above on PostgreSQL.
package model

import "time"

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

// User is a member of an organisation. Email is unique; so is the handle
// within an organisation. Posts is a related list: never stored in a user's
// cached copy, and never cached as a list.
//
//cachegen:table users ttl=10m
type User struct {
	ID     int64   `db:"id"     cache:"pk"`
	Email  string  `db:"email"  cache:"unique"`
	OrgID  int64   `db:"org_id" cache:"unique_together=org_handle"`
	Handle string  `db:"handle" cache:"unique_together=org_handle"`
	Name   string  `db:"name"`
	Posts  []*Post `db:"-"`
}

// Post is written by a User: the fk gives PostRepo LoadAuthor and
// LoadAuthors. Author is a related object, never stored in a post's cached
// copy.
//
//cachegen:table posts
type Post struct {
	ID          int64      `db:"id"           cache:"pk"`
	AuthorID    int64      `db:"author_id"    cache:"fk=User"`
	Slug        string     `db:"slug"         cache:"unique"`
	Title       string     `db:"title"`
	Body        string     `db:"body"`
	PublishedAt *time.Time `db:"published_at"`
	Author      *User      `db:"-"`
}

// Wide has eleven columns: an insert binds ten values and an update eleven.
//
//cachegen:table wides
type Wide struct {
	ID   int64  `db:"id"   cache:"pk"`
	Code string `db:"code" cache:"unique"`
	C1   int64  `db:"c1"`
	C2   int64  `db:"c2"`
	C3   int64  `db:"c3"`
	C4   int64  `db:"c4"`
	C5   int64  `db:"c5"`
	C6   int64  `db:"c6"`
	C7   int64  `db:"c7"`
	C8   int64  `db:"c8"`
	C9   int64  `db:"c9"`
}
