package models

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"
)

// UserID is a defined integer type.
type UserID int64

// Email is a defined string type that also has binary methods: the string
// family wins.
type Email string

func (e Email) MarshalBinary() ([]byte, error)     { return []byte(e), nil }
func (e *Email) UnmarshalBinary(data []byte) error { *e = Email(data); return nil }

// Raw is a defined []byte.
type Raw []byte

// Money is a struct carried by its binary methods.
type Money struct{ cents int64 }

func (m Money) MarshalBinary() ([]byte, error) { return []byte{byte(m.cents)}, nil }

// Value and Scan carry Money to and from the database.
func (m Money) Value() (driver.Value, error) { return m.cents, nil }
func (m *Money) Scan(v any) error            { m.cents, _ = v.(int64); return nil }

func (m *Money) UnmarshalBinary(data []byte) error {
	if len(data) != 1 {
		return errors.New("bad money")
	}
	m.cents = int64(data[0])
	return nil
}

//cachegen:table orgs ttl=10m
type Org struct {
	ID   int64  `db:"id" cache:"pk"`
	Name string `db:"name" cache:"unique"`
}

// User is documented.
//
//cachegen:table users ttl=1h30m
type User struct {
	ID       UserID            `db:"id"        cache:"pk"`
	Email    Email             `db:"email"     cache:"unique"`
	OrgID    int64             `db:"org_id"    cache:"unique_together=org_handle,fk=Org,unique_together=org_slot"`
	Handle   string            `db:"handle"    cache:"unique_together=org_handle"`
	Slot     *int32            `db:"slot"      cache:"unique_together=org_slot"`
	Nick     sql.NullString    `db:"nick"`
	Score    sql.Null[int64]   `db:"score"`
	Token    [16]byte          `db:"token"`
	Created  time.Time         `db:"created"`
	Deleted  *time.Time        `db:"deleted"`
	Avatar   Raw               `db:"avatar"`
	Data     []byte            `db:"data"`
	Balance  Money             `db:"balance"`
	Ratio    float32           `db:"ratio"`
	Weight   float64           `db:"weight"`
	Active   bool              `db:"active"`
	Flags    uint16            `db:"flags"`
	ParentID sql.NullInt64     `db:"parent_id" cache:"fk=User"`
	Org      *Org              `db:"-"`
	Friends  []*User           `db:"-"`
	Extra    map[string]string `db:"-"`
	internal int
}

type OrgMember struct {
	Key  string `db:"key" cache:"pk"`
	Role string `db:"role"`
}

type Category struct {
	ID   uint32 `db:"id" cache:"pk,manual"`
	Name string `db:"name"`
}

type Box struct {
	Code [4]byte `db:"code" cache:"pk"`
}

type HTTPLog struct {
	ID uint `db:"id" cache:"pk"`
}

// Tie checks the order of indexes that start at the same field: the single
// unique first, then the groups in tag order.
type Tie struct {
	ID int64  `db:"id" cache:"pk"`
	A  string `db:"a" cache:"unique_together=g2,unique,unique_together=g1"`
	B  string `db:"b" cache:"unique_together=g2"`
	C  string `db:"c" cache:"unique_together=g1"`
}

// NotAModel has db tags only: a plain sqlx struct, not a model.
type NotAModel struct {
	A int `db:"a"`
	B map[string]int
}
