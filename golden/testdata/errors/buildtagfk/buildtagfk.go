package buildtagfk

type Org struct {
	ID int64 `db:"id" cache:"pk"`
}
