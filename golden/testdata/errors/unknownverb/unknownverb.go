package unknownverb

//cachegen:tabel things // want `unknown directive //cachegen:tabel`
type Thing struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:index by_name // want `unknown directive //cachegen:index`
type Other struct {
	ID int64 `db:"id" cache:"pk"`
}
