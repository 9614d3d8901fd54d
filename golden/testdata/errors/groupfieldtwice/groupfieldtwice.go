package groupfieldtwice

type Thing struct {
	ID     int64  `db:"id" cache:"pk"`
	OrgID  int64  `db:"org_id" cache:"unique_together=org_handle,unique_together=org_handle"` // want `field OrgID: appears twice in unique_together group "org_handle"`
	Handle string `db:"handle" cache:"unique_together=org_handle"`
}
