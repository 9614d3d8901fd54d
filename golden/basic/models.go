// Package basic is the common shape: a primary key, a unique field, a
// unique_together group, a foreign key and a related object.
package basic

// Org owns users.
type Org struct {
	ID   int64  `db:"id"   cache:"pk"`
	Name string `db:"name" cache:"unique"`
}

// User belongs to an Org.
//
//cachegen:table users ttl=10m
type User struct {
	ID     int64  `db:"id"     cache:"pk"`
	Email  string `db:"email"  cache:"unique"`
	OrgID  int64  `db:"org_id" cache:"unique_together=org_handle,fk=Org"`
	Handle string `db:"handle" cache:"unique_together=org_handle"`
	Org    *Org   `db:"-"`
}
