package tablename

//cachegen:table bad-name // want `invalid table name "bad-name"`
type Thing struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table // want `//cachegen:table needs a table name`
type Other struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table ttl=5m // want `//cachegen:table needs a table name`
type Third struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table fourths ttl=5m size=3 // want `unknown argument "size=3" in //cachegen:table`
type Fourth struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table fifths ttl=5m ttl=6m // want `repeated ttl in //cachegen:table`
type Fifth struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table sixths
//cachegen:table sixes // want `repeated //cachegen:table directive on Sixth`
type Sixth struct {
	ID int64 `db:"id" cache:"pk"`
}

type Ärger struct { // want `the default table name "ärgers" of Ärger is not a valid table name`
	ID int64 `db:"id" cache:"pk"`
}

// Schema-qualified table names are fine.
//
//cachegen:table public.sevenths
type Seventh struct {
	ID int64 `db:"id" cache:"pk"`
}
