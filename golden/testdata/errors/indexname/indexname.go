package indexname

type Thing struct {
	ID     int64  `db:"id" cache:"pk"`
	Email  string `db:"email" cache:"unique"`
	OrgID  int64  `db:"org_id" cache:"unique_together=email"`                    // want `unique_together group name "email" is also the index name of the unique column email`
	Handle string `db:"handle" cache:"unique_together=email,unique_together=id"` // want `unique_together group name "id" is also the index name of the primary key column id`
	Slot   int    `db:"slot" cache:"unique_together=id"`
}
