package fkpackage

type Thing struct {
	ID    int64  `db:"id" cache:"pk"`
	A     int64  `db:"a" cache:"fk=example.com/no/such/pkg.Model"`                      // want `field A: fk=example.com/no/such/pkg.Model: cannot load package example.com/no/such/pkg`
	B     int64  `db:"b" cache:"fk=github.com/cachegen/cachegen/golden/basic.Nope"`     // want `field B: fk=github.com/cachegen/cachegen/golden/basic.Nope: no exported type Nope in package github.com/cachegen/cachegen/golden/basic`
	When  int64  `db:"when" cache:"fk=time.Time"`                                       // want `field When: fk target time.Time is not a model \(it has no cache:"pk" field\)`
	OrgID string `db:"org_id" cache:"fk=github.com/cachegen/cachegen/golden/basic.Org"` // want `field OrgID: fk=github.com/cachegen/cachegen/golden/basic.Org type mismatch: string does not match Org.ID \(int64\)`
}
