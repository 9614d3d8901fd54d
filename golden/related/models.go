// Package related has foreign keys of every shape: NOT NULL, nullable
// (pointer and sql.Null), to its own model, to a model of another package,
// unique ones (one-to-one, with reverse loaders), and db:"-" fields, pointer
// and slice, that the codec never carries.
package related

import "database/sql"

// AuthorID is a defined key type.
type AuthorID int64

// Author writes posts; its OrgID references a model of another package.
type Author struct {
	ID      AuthorID `db:"id"     cache:"pk"`
	Email   string   `db:"email"  cache:"unique"`
	OrgID   int64    `db:"org_id" cache:"fk=github.com/cachegen/cachegen/golden/basic.Org"`
	Profile *Profile `db:"-"`
	Posts   []*Post  `db:"-"`
}

// Profile is one-to-one with an Author, through a unique fk: the Author
// repository gets LoadProfile and LoadProfiles.
type Profile struct {
	ID       int64    `db:"id"        cache:"pk"`
	AuthorID AuthorID `db:"author_id" cache:"unique,fk=Author"`
	Bio      string   `db:"bio"`
}

// Post has a NOT NULL fk, a nullable one of a narrower type, and one to
// its own model.
type Post struct {
	ID       int64         `db:"id"        cache:"pk"`
	AuthorID AuthorID      `db:"author_id" cache:"fk=Author"`
	EditorID *int32        `db:"editor_id" cache:"fk=Author"`
	ParentID sql.NullInt64 `db:"parent_id" cache:"fk=Post"`
	Title    string        `db:"title"`
	Author   *Author       `db:"-"`
	Replies  []Post        `db:"-"`
}

// Preference shares its primary key with an Author: one-to-one by key.
type Preference struct {
	AuthorID AuthorID `db:"author_id" cache:"pk,manual,fk=Author"`
	Theme    string   `db:"theme"`
}

// Badge may be awarded to one Author at most: a nullable unique fk whose
// reverse loaders are named by the tag (LoadAward, LoadAwards).
type Badge struct {
	ID      int64     `db:"id"       cache:"pk"`
	OwnerID *AuthorID `db:"owner_id" cache:"unique,fk=Author,reverse=Award"`
	Name    string    `db:"name"`
}
