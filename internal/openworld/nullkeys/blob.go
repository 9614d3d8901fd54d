// Package nullkeys has a model whose unique columns are each nullable in a
// different way the codec carries, so that NULL and empty lookups can be
// told apart on every database. blob_cachegen.go beside this file is
// generated from its tags.
package nullkeys

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// Raw is a named byte slice.
type Raw []byte

// Tag is a nullable BinaryMarshaler in the manner of uuid.NullUUID: an
// invalid Tag is NULL to the database and marshals to nothing, and a valid
// one may be empty.
type Tag struct {
	B     []byte
	Valid bool
}

// MarshalBinary writes the tag's bytes, nothing for NULL.
func (t Tag) MarshalBinary() ([]byte, error) {
	if !t.Valid {
		return nil, nil
	}
	return t.B, nil
}

// UnmarshalBinary reads a valid tag.
func (t *Tag) UnmarshalBinary(b []byte) error {
	*t = Tag{B: b, Valid: true}
	return nil
}

// Value is NULL for an invalid tag.
func (t Tag) Value() (driver.Value, error) {
	if !t.Valid {
		return nil, nil
	}
	if t.B == nil {
		return []byte{}, nil
	}
	return t.B, nil
}

// Scan reads NULL as an invalid tag.
func (t *Tag) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t = Tag{}
	case []byte:
		*t = Tag{B: append([]byte{}, v...), Valid: true}
	case string:
		*t = Tag{B: []byte(v), Valid: true}
	default:
		return fmt.Errorf("nullkeys: %T into a Tag", src)
	}
	return nil
}

// Blob has one unique column per nullable kind: a []byte (nil is NULL), a
// named []byte, an sql.Null of []byte, a pointer and a marshaler.
//
//cachegen:table blobs
type Blob struct {
	ID   int64            `db:"id"   cache:"pk"`
	Data []byte           `db:"data" cache:"unique"`
	Raw  Raw              `db:"raw"  cache:"unique"`
	Opt  sql.Null[[]byte] `db:"opt"  cache:"unique"`
	Nick *string          `db:"nick" cache:"unique"`
	Tag  Tag              `db:"tag"  cache:"unique"`
}
