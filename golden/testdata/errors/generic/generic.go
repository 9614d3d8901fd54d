package generic

type Box[T any] struct { // want `generic type Box cannot be a model`
	ID  int64 `db:"id" cache:"pk"`
	Val T     `db:"val"`
}
