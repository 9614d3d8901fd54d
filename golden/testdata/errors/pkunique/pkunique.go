package pkunique

type Thing struct {
	ID int64 `db:"id" cache:"pk,unique"` // want `field ID: the primary key is already unique`
}

type Other struct {
	ID  int64 `db:"id" cache:"pk,unique_together=id_org"` // want `field ID: the primary key is already unique`
	Org int64 `db:"org" cache:"unique_together=id_org"`
}
