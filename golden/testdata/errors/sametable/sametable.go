package sametable

type User struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table users
type Account struct { // want `model Account uses table "users", already used by model User at .*sametable.go:3:6`
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table Users
type Member struct { // want `model Member uses table "Users", already used by model User`
	ID int64 `db:"id" cache:"pk"`
}
