package twopks

type Thing struct {
	ID   int64 `db:"id" cache:"pk"`
	Code int64 `db:"code" cache:"pk"` // want `field Code: second primary key in Thing \(the first is ID\)`
}
