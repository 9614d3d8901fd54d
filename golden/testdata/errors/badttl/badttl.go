package badttl

//cachegen:table things ttl=ten // want `invalid ttl "ten"`
type Thing struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table others ttl=5 // want `invalid ttl "5"`
type Other struct {
	ID int64 `db:"id" cache:"pk"`
}
