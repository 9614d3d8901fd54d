package schemaname

// Malformed schema-qualified table names: each is a positioned error,
// never a name the statements would quote wrongly.

//cachegen:table a.b.c // want `invalid table name "a.b.c": more than one dot`
type Three struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table shop. // want `invalid table name "shop.": empty table name`
type NoTable struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table .things // want `invalid table name ".things": empty schema name`
type NoSchema struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table a..b // want `invalid table name "a..b": more than one dot`
type TwoDots struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table my-shop.things // want `invalid table name "my-shop.things": '-' is not allowed in a schema name`
type Dash struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table shop.thing$ // want `invalid table name "shop.thing\$": '\$' is not allowed in a table name`
type Dollar struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table shop.1things // want `invalid table name "shop.1things": table name starts with a digit`
type Digit struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table "shop.things" // want `invalid table name "\\"shop.things\\"": '"' is not allowed in a schema name`
type Quoted struct {
	ID int64 `db:"id" cache:"pk"`
}

// A valid schema-qualified name: no error.
//
//cachegen:table shop.things
type Fine struct {
	ID int64 `db:"id" cache:"pk"`
}
