package duplicatecolumn

type Thing struct {
	ID    int64  `db:"id" cache:"pk"`
	Name  string `db:"name"`
	Other string `db:"NAME"` // want `field Other: column "NAME" is already used by field Name`
}
