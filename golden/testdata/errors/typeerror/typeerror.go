package typeerror

type Thing struct {
	ID  int64   `db:"id" cache:"pk"`
	Org Missing `db:"org"` // want `undefined: Missing`
}
