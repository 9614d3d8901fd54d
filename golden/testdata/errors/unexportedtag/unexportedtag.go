package unexportedtag

type Thing struct {
	ID     int64 `db:"id" cache:"pk"`
	secret int   `db:"secret"`    // want `field secret: unexported field with a db or cache tag`
	hidden int   `cache:"unique"` // want `field hidden: unexported field with a db or cache tag`
	plain  int   // no tag: ignored
}

var _ = Thing{secret: 1, hidden: 2, plain: 3}
