//go:build !buildtagfk_off

package buildtagfk

type Member struct {
	ID    int64 `db:"id" cache:"pk"`
	OrgID int64 `db:"org_id" cache:"fk=Org"` // want `field OrgID: fk=Org joins Member \(//go:build !buildtagfk_off\) and Org \(no build constraint\), whose files are built under different constraints`
}
