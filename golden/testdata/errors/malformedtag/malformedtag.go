package malformedtag

type Thing struct {
	ID   int64  `db:"id" cache:"pk"`
	Name string `db:name`                 // want `field Name: malformed struct tag: the value of key "db" is not quoted`
	Nick string `db:"nick"cache:"unique"` // want `field Nick: malformed struct tag: key:"value" pairs are not separated by spaces`
	Key  string `db:"key`                 // want `field Key: malformed struct tag: the value of key "db" has no closing quote`
	Odd  string `db:"odd" :"x"`           // want `field Odd: malformed struct tag: expected a key`
	Bare string `db:"bare" cache`         // want `field Bare: malformed struct tag: key "cache" is not followed by :"value"`
}

// Broken's pk may be in the tag that cannot be read: no "no pk" error.
type Broken struct {
	ID int64 `db:"id" cache: "pk"` // want `field ID: malformed struct tag: the value of key "cache" is not quoted`
}
