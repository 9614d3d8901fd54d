package pointerpk

import (
	"database/sql"
)

type Thing struct {
	ID *int64 `db:"id" cache:"pk"` // want `field ID: the primary key cannot be a pointer or Null type \(\*int64\)`
}

type Other struct {
	ID sql.NullInt64 `db:"id" cache:"pk"` // want `field ID: the primary key cannot be a pointer or Null type \(sql.NullInt64\)`
}
