// Package nullkeys has a model whose unique columns are each nullable in a
// different way the codec carries, so that NULL and empty lookups can be
// told apart on every database. blob_cachegen.go beside this file is
// generated from its tags.
package nullkeys

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import "database/sql"

// Raw is a named byte slice.
type Raw []byte

// Blob has one unique column per nullable kind: a []byte (nil is NULL), a
// named []byte, an sql.Null of []byte and a pointer.
//
//cachegen:table blobs
type Blob struct {
	ID   int64            `db:"id"   cache:"pk"`
	Data []byte           `db:"data" cache:"unique"`
	Raw  Raw              `db:"raw"  cache:"unique"`
	Opt  sql.Null[[]byte] `db:"opt"  cache:"unique"`
	Nick *string          `db:"nick" cache:"unique"`
}
