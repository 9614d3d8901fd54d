package manualnopk

type Thing struct {
	ID   int64 `db:"id" cache:"pk"`
	Code int64 `db:"code" cache:"manual"` // want `field Code: manual without pk`
}
