package duplicategroup

type Thing struct {
	ID     int64  `db:"id" cache:"pk"`
	OrgID  int64  `db:"org_id" cache:"unique_together=a,unique_together=b"` // want `unique_together group "b" has the same fields as group "a"`
	Handle string `db:"handle" cache:"unique_together=b,unique_together=a"`
}
