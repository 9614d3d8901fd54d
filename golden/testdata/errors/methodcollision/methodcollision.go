package methodcollision

type Thing struct {
	ID          int64  `db:"id" cache:"pk"`
	Org         int64  `db:"org" cache:"unique_together=org_idhandle"`
	IDHandle    string `db:"id_handle" cache:"unique_together=org_idhandle"`
	OrgIDHandle string `db:"org_id_handle" cache:"unique"` // want `getter GetByOrgIDHandle of unique field OrgIDHandle collides with the getter of unique_together group org_idhandle`
}
