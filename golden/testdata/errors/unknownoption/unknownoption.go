package unknownoption

type Thing struct {
	ID   int64  `db:"id" cache:"pk"`
	Name string `db:"name" cache:"uniqe"`                   // want `field Name: unknown cache option "uniqe"`
	Nick string `db:"nick" cache:"unique_together"`         // want `field Nick: unique_together needs a group name`
	Org  int64  `db:"org" cache:"fk="`                      // want `field Org: fk needs a model name`
	Key  string `db:"key" cache:"unique,unique"`            // want `field Key: repeated cache option "unique"`
	Ref  *int64 `db:"ref" cache:"fk=Thing,fk=Thing"`        // want `field Ref: repeated fk option`
	Grp  string `db:"grp" cache:"unique_together=Bad-Name"` // want `field Grp: invalid unique_together group name "Bad-Name"`
}
