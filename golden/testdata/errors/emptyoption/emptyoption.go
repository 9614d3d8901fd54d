package emptyoption

type Thing struct {
	ID   int64  `db:"id" cache:"pk,,"` // want `field ID: empty cache option in "pk,,"`
	Name string `db:"name" cache:""`   // want `field Name: empty cache option in ""`
}
