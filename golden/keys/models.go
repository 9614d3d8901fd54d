// Package keys has application-assigned primary keys and names that are
// keywords in Go or SQL.
package keys

// Setting is keyed by a string the application chooses.
type Setting struct {
	Key   string `db:"key"   cache:"pk"`
	Value string `db:"value"`
}

// Order has an integer key the application assigns, and columns named
// after SQL keywords.
//
//cachegen:table orders
type Order struct {
	ID    int64  `db:"id"    cache:"pk,manual"`
	Type  string `db:"type"  cache:"unique_together=type_range"`
	Range int32  `db:"range" cache:"unique_together=type_range"`
	Order int32  `db:"order"`
}

// Tag has nothing but its key.
type Tag struct {
	ID int64 `db:"id" cache:"pk"`
}
