// Package typetable has one model with a column of every type the README's
// type table says the codec carries, so that each is written and read
// through a generated repository on every database. row_cachegen.go
// beside this file is generated from its tags.
package typetable

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"
)

// Defined types over each family.
type (
	Status int16
	Big    uint32
	Ratio  float64
	Active bool
	Code   string
	Blob   []byte
	Digest [8]byte
)

// Point is carried by its binary methods in the cache and by Value and
// Scan in the database.
type Point struct{ X, Y int8 }

// MarshalBinary is Point's cached form.
func (p Point) MarshalBinary() ([]byte, error) { return []byte{byte(p.X), byte(p.Y)}, nil }

// UnmarshalBinary reads what MarshalBinary wrote.
func (p *Point) UnmarshalBinary(b []byte) error {
	if len(b) != 2 {
		return errors.New("typetable: a point is two bytes")
	}
	p.X, p.Y = int8(b[0]), int8(b[1])
	return nil
}

// Value binds the point as its two bytes.
func (p Point) Value() (driver.Value, error) { return p.MarshalBinary() }

// Scan reads what Value wrote.
func (p *Point) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok {
		return errors.New("typetable: a point is scanned from bytes")
	}
	return p.UnmarshalBinary(b)
}

// Row has a column of every type of the table.
//
//cachegen:table typed_rows
type Row struct {
	ID int64 `db:"id" cache:"pk"`

	I   int     `db:"i"`
	I8  int8    `db:"i8"`
	I16 int16   `db:"i16"`
	I32 int32   `db:"i32"`
	I64 int64   `db:"i64"`
	U   uint    `db:"u"`
	U8  uint8   `db:"u8"`
	U16 uint16  `db:"u16"`
	U32 uint32  `db:"u32"`
	U64 uint64  `db:"u64"`
	F32 float32 `db:"f32"`
	F64 float64 `db:"f64"`

	Flag  bool      `db:"flag"`
	Text  string    `db:"text_"`
	Bytes []byte    `db:"bytes_"`
	At    time.Time `db:"at"`
	Arr   [16]byte  `db:"arr"`

	PInt   *int64     `db:"p_int"`
	PU16   *uint16    `db:"p_u16"`
	PF64   *float64   `db:"p_f64"`
	PBool  *bool      `db:"p_bool"`
	PStr   *string    `db:"p_str"`
	PBytes *[]byte    `db:"p_bytes"`
	PTime  *time.Time `db:"p_time"`

	NStr   sql.NullString   `db:"n_str"`
	NI64   sql.NullInt64    `db:"n_i64"`
	NI32   sql.NullInt32    `db:"n_i32"`
	NI16   sql.NullInt16    `db:"n_i16"`
	NByte  sql.NullByte     `db:"n_byte"`
	NF64   sql.NullFloat64  `db:"n_f64"`
	NBool  sql.NullBool     `db:"n_bool"`
	NTime  sql.NullTime     `db:"n_time"`
	NG     sql.Null[int64]  `db:"n_g"`
	NGStr  sql.Null[string] `db:"n_g_str"`
	NGCode sql.Null[Code]   `db:"n_g_code"`

	Status Status `db:"status"`
	Big    Big    `db:"big"`
	Ratio  Ratio  `db:"ratio"`
	On     Active `db:"on_"`
	Code   Code   `db:"code"`
	Raw    Blob   `db:"raw"`
	Dig    Digest `db:"dig"`
	PCode  *Code  `db:"p_code"`
	PBig   *Big   `db:"p_big"`

	Point Point `db:"point"`
}
