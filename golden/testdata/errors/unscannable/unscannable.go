package unscannable

import (
	"database/sql"
	"net/netip"
)

// Active is a defined bool: as a field it is scanned as a *bool.
type Active bool

// Point marshals itself for the cache but not for the database.
type Point struct{ X, Y int8 }

func (p Point) MarshalBinary() ([]byte, error)  { return []byte{byte(p.X), byte(p.Y)}, nil }
func (p *Point) UnmarshalBinary(b []byte) error { p.X, p.Y = int8(b[0]), int8(b[1]); return nil }

type Thing struct {
	ID      int64             `db:"id" cache:"pk"`
	On      Active            `db:"on_"`
	Digest  *[16]byte         `db:"digest"`   // want `field Digest: type \*\[16\]byte cannot be cached: database/sql cannot scan into a pointer to a byte array`
	MaybeOn *Active           `db:"maybe_on"` // want `field MaybeOn: type \*Active cannot be cached: database/sql cannot scan the 0 or 1 of SQLite and MariaDB into a pointer to a defined bool`
	NullOn  sql.Null[Active]  `db:"null_on"`  // want `field NullOn: type sql.Null\[Active\] cannot be cached: .*defined bool inside sql.Null`
	NullSum sql.Null[[4]byte] `db:"null_sum"` // want `field NullSum: .*byte array inside sql.Null`
	At      Point             `db:"at"`       // want `field At: type Point cannot be cached: MarshalBinary is the cache's form only: database/sql needs a Value method on unscannable.Point \(driver.Valuer\) and a Scan method on \*unscannable.Point \(sql.Scanner\)`
	Addr    netip.Addr        `db:"addr"`     // want `field Addr: type netip.Addr cannot be cached: .*a Value method on netip.Addr`
}
