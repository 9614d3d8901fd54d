package directivetypo

// User is stored in the table its directive names, had it been one.
//
// cachegen:table people ttl=5m // want `"// cachegen:" with a space after the slashes is a comment, not a //cachegen: directive`
type User struct {
	ID int64 `db:"id" cache:"pk"`
}

// cachegen:table teams // want `"// cachegen:" with a space after the slashes is a comment`
type Team struct {
	ID int64 `db:"id" cache:"pk"`
}

// Prose that mentions cachegen:table in the middle of a line is fine.
type Org struct {
	ID int64 `db:"id" cache:"pk"`
}
