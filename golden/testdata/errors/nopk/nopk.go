package nopk

// Thing has cache tags but no primary key: an error, not a silent skip.
type Thing struct { // want `struct Thing has cache tags but no cache:"pk" field`
	ID    int64  `db:"id"`
	Email string `db:"email" cache:"unique"`
}

// Plain has db tags only: a plain sqlx struct, no error.
type Plain struct {
	ID int64 `db:"id"`
}

// Cached has a tag key that merely ends in "cache": not a cachegen tag.
type Cached struct {
	ID int64 `db:"id" rediscache:"pk"`
}
