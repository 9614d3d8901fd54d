package ttlnotpositive

//cachegen:table things ttl=0s // want `ttl must be positive, not 0s`
type Thing struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table others ttl=-5m // want `ttl must be positive, not -5m`
type Other struct {
	ID int64 `db:"id" cache:"pk"`
}
