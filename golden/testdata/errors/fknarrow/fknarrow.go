package fknarrow

type Small struct {
	ID int32 `db:"id" cache:"pk"`
}

type Thing struct {
	ID      int64   `db:"id" cache:"pk"`
	SmallID int64   `db:"small_id" cache:"fk=Small"` // want `field SmallID: fk=Small type mismatch: int64 does not match Small.ID \(int32\)`
	Signed  *uint32 `db:"signed" cache:"fk=Small"`   // want `field Signed: fk=Small type mismatch: \*uint32 does not match Small.ID \(int32\)`
	Fits    int16   `db:"fits" cache:"fk=Small"`
}
