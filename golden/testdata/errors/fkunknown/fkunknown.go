package fkunknown

type Thing struct {
	ID    int64 `db:"id" cache:"pk"`
	OrgID int64 `db:"org_id" cache:"fk=Org"` // want `field OrgID: fk=Org: no type Org in package fkunknown`
}
