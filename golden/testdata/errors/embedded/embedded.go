package embedded

type Base struct {
	Created int64 `db:"created"`
}

type Thing struct {
	ID   int64 `db:"id" cache:"pk"`
	Base       // want `field Base: embedded field in model Thing`
}
