package fknotmodel

type Org struct {
	ID int64 `db:"id"`
}

type Thing struct {
	ID    int64 `db:"id" cache:"pk"`
	OrgID int64 `db:"org_id" cache:"fk=Org"` // want `field OrgID: fk target Org is not a model \(it has no cache:"pk" field\)`
}
