// Package types carries every type the codec supports.
package types

import (
	"database/sql"
	"database/sql/driver"
	"time"
)

// Status is a named integer.
type Status int8

// Email is a named string.
type Email string

// Raw is a named byte slice.
type Raw []byte

// Hash is a named byte array.
type Hash [32]byte

// Version marshals itself through a pointer receiver.
type Version struct{ Major, Minor uint16 }

// MarshalBinary writes the version as four bytes.
func (v *Version) MarshalBinary() ([]byte, error) {
	return []byte{byte(v.Major >> 8), byte(v.Major), byte(v.Minor >> 8), byte(v.Minor)}, nil
}

// Value binds the version as its four bytes: MarshalBinary is the cache's
// form, the database needs its own.
func (v Version) Value() (driver.Value, error) { return v.MarshalBinary() }

// Scan reads what Value wrote.
func (v *Version) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok {
		return sql.ErrNoRows
	}
	return v.UnmarshalBinary(b)
}

// UnmarshalBinary reads what MarshalBinary wrote.
func (v *Version) UnmarshalBinary(b []byte) error {
	if len(b) != 4 {
		return sql.ErrNoRows
	}
	v.Major, v.Minor = uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3])
	return nil
}

// Everything has one field of each supported kind.
//
//cachegen:table everything
type Everything struct {
	ID      uint32            `db:"id"         cache:"pk"`
	I       int               `db:"i"`
	I8      int8              `db:"i8"`
	I16     int16             `db:"i16"`
	I32     int32             `db:"i32"`
	I64     int64             `db:"i64"`
	U       uint              `db:"u"`
	U8      uint8             `db:"u8"`
	U16     uint16            `db:"u16"`
	U64     uint64            `db:"u64"`
	F32     float32           `db:"f32"`
	F64     float64           `db:"f64"`
	Flag    bool              `db:"flag"`
	Text    string            `db:"text"`
	Blob    []byte            `db:"blob"`
	At      time.Time         `db:"at"`
	Nick    *string           `db:"nick"`
	Count   *int64            `db:"count"`
	Seen    *time.Time        `db:"seen"`
	Bio     sql.NullString    `db:"bio"`
	Score   sql.NullInt64     `db:"score"`
	Left    sql.NullTime      `db:"left_at"`
	Level   sql.Null[int32]   `db:"level"`
	Status  Status            `db:"status"     cache:"unique_together=status_email"`
	Email   Email             `db:"email"      cache:"unique_together=status_email"`
	Raw     Raw               `db:"raw"`
	Digest  Hash              `db:"digest"     cache:"unique"`
	UUID    [16]byte          `db:"uuid"       cache:"unique"`
	Version Version           `db:"version"`
	Ratio   float64           `db:"ratio"      cache:"unique"`
	When    time.Time         `db:"when_at"    cache:"unique"`
	Tags    map[string]string `db:"-"`
}
