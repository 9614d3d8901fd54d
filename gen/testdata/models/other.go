package models

type Address struct {
	ID     int64  `db:"id" cache:"pk"`
	UserID UserID `db:"user_id" cache:"fk=User"`
	City   string `db:"city"`
}
