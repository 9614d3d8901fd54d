package a

type Post struct {
	ID int64 `db:"id" cache:"pk"`
}
