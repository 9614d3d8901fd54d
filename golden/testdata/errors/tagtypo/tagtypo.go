package tagtypo

type User struct {
	ID    int64  `db:"id" cache:"pk"`
	Email string `db:"email" chache:"unique"` // want `field Email: struct tag key "chache" next to a db tag looks like a misspelt cache`
	Login string `db:"login" cahce:"unique"`  // want `field Login: struct tag key "cahce" next to a db tag looks like a misspelt cache`
	Name  string `db:"name" json:"name"`
}

// Team has no cache key at all: its only tag with options is misspelt.
type Team struct {
	ID int64 `db:"id" cach:"pk"` // want `field ID: struct tag key "cach" next to a db tag looks like a misspelt cache`
}
