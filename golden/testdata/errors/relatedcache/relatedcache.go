package relatedcache

type Org struct {
	ID int64 `db:"id" cache:"pk"`
}

type Thing struct {
	ID  int64 `db:"id" cache:"pk"`
	Org *Org  `db:"-" cache:"fk=Org"` // want `field Org: a db:"-" field cannot have cache options`
}
