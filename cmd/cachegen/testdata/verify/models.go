// Package verify is the model cachegen -verify is tested against.
package verify

import "time"

// Account has an auto pk, a unique column, a unique_together group, a
// narrow integer and a nullable column.
//
//cachegen:table accounts
type Account struct {
	ID       int64      `db:"id"        cache:"pk"`
	Email    string     `db:"email"     cache:"unique"`
	OrgID    int64      `db:"org_id"    cache:"unique_together=org_login"`
	Login    string     `db:"login"     cache:"unique_together=org_login"`
	Age      int32      `db:"age"`
	ClosedAt *time.Time `db:"closed_at"`
}
