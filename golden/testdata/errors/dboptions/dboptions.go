package dboptions

type Thing struct {
	ID   int64  `db:"id" cache:"pk"`
	Name string `db:"name,omitempty"` // want `field Name: db tag "name,omitempty" has options`
}
