package badcolumn

type Thing struct {
	ID    int64  `db:"id" cache:"pk"`
	Name  string `db:"full name"` // want `field Name: invalid column name "full name"`
	Num   int    `db:"1st"`       // want `field Num: invalid column name "1st"`
	Empty string `db:""`          // want `field Empty: empty db tag`
}
