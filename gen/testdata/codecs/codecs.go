package codecs

import (
	"database/sql"
	"database/sql/driver"
	"time"
)

// Level is a defined int that also has binary methods: the int family wins.
type Level int8

func (l Level) MarshalBinary() ([]byte, error)     { return []byte{byte(l)}, nil }
func (l *Level) UnmarshalBinary(data []byte) error { *l = Level(data[0]); return nil }

// Big is a defined type over a defined type.
type Big Level

// UUID is a defined [16]byte.
type UUID [16]byte

// Ptr has both binary methods on the pointer only.
type Ptr struct{ b []byte }

func (p *Ptr) MarshalBinary() ([]byte, error)    { return p.b, nil }
func (p *Ptr) UnmarshalBinary(data []byte) error { p.b = data; return nil }

// Value and Scan carry Ptr to and from the database.
func (p Ptr) Value() (driver.Value, error) { return p.b, nil }
func (p *Ptr) Scan(v any) error            { p.b, _ = v.([]byte); return nil }

// Stamp embeds time.Time and so has its binary methods.
type Stamp struct{ time.Time }

// Value and Scan carry Stamp to and from the database.
func (s Stamp) Value() (driver.Value, error) { return s.Time, nil }
func (s *Stamp) Scan(v any) error            { s.Time, _ = v.(time.Time); return nil }

// Alias is an alias: it is int64 itself.
type Alias = int64

// Word is generic; its instances are defined types over string.
type Word[T any] string

// Celsius is a defined float.
type Celsius float64

// Flag is a defined bool.
type Flag bool

type Thing struct {
	ID      UUID                `db:"id" cache:"pk,manual"`
	I8      int8                `db:"i8"`
	I16     int16               `db:"i16"`
	I32     int32               `db:"i32"`
	I       int                 `db:"i"`
	U8      uint8               `db:"u8"`
	U32     uint32              `db:"u32"`
	U64     uint64              `db:"u64"`
	Rune    rune                `db:"rune"`
	Byte    byte                `db:"byte"`
	Level   Level               `db:"level"`
	Big     Big                 `db:"big"`
	Temp    Celsius             `db:"temp"`
	Flag    Flag                `db:"flag"`
	Alias   Alias               `db:"alias"`
	Word    Word[Thing]         `db:"word"`
	PtrM    Ptr                 `db:"ptr_m"`
	PtrPtrM *Ptr                `db:"ptr_ptr_m"`
	Stamp   Stamp               `db:"stamp"`
	PLevel  *Level              `db:"p_level"`
	PBytes  *[]byte             `db:"p_bytes"`
	NInt32  sql.NullInt32       `db:"n_int32"`
	NInt16  sql.NullInt16       `db:"n_int16"`
	NByte   sql.NullByte        `db:"n_byte"`
	NFloat  sql.NullFloat64     `db:"n_float"`
	NBool   sql.NullBool        `db:"n_bool"`
	NTime   sql.NullTime        `db:"n_time"`
	NGTime  sql.Null[time.Time] `db:"n_g_time"`
	NGLevel sql.Null[Level]     `db:"n_g_level"`
}

// Keyed has a string pk: never AutoPK, manual or not.
type Keyed struct {
	Key  string `db:"key" cache:"pk"`
	Note string `db:"note"`
}

// Counted has a manual integer pk.
type Counted struct {
	N uint64 `db:"n" cache:"pk,manual"`
}

// Leveled has a defined-int pk: AutoPK.
type Leveled struct {
	L Level `db:"l" cache:"pk"`
}
