package repeatedkey

type Thing struct {
	ID   int64  `db:"id" cache:"pk"`
	Name string `db:"name" db:"nom"`                      // want `field Name: repeated db key in struct tag`
	Nick string `db:"nick" cache:"unique" cache:"unique"` // want `field Nick: repeated cache key in struct tag`
}
