package fkmismatch

import (
	"database/sql"
)

type Org struct {
	ID int64 `db:"id" cache:"pk"`
}

type Code struct {
	Code string `db:"code" cache:"pk,manual"`
}

type Thing struct {
	ID      int64          `db:"id" cache:"pk"`
	OrgID   string         `db:"org_id" cache:"fk=Org"`   // want `field OrgID: fk=Org type mismatch: string does not match Org.ID \(int64\)`
	CodeRef *int64         `db:"code" cache:"fk=Code"`    // want `field CodeRef: fk=Code type mismatch: \*int64 does not match Code.Code \(string\)`
	Parent  sql.NullString `db:"parent" cache:"fk=Thing"` // want `field Parent: fk=Thing type mismatch`
	Good    *int32         `db:"good" cache:"fk=Org"`
	Nulled  sql.NullInt64  `db:"nulled" cache:"fk=Thing"`
}
