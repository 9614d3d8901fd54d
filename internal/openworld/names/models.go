// Package names holds models whose tables test how statements name tables
// and columns: a table that lacks a model column, and one table name in
// two schemas other than the connection's default (a PostgreSQL schema, a
// MySQL database, an attached SQLite database). models_cachegen.go beside
// this file is generated from its tags.
package names

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

// Note is read from a table its tests create without the body column.
//
//cachegen:table notes
type Note struct {
	ID   int64  `db:"id"   cache:"pk"`
	Slug string `db:"slug" cache:"unique"`
	Body string `db:"body"`
}

// WidgetA lives in the schema cg_openworld_a.
//
//cachegen:table cg_openworld_a.widgets
type WidgetA struct {
	ID    int64  `db:"id"    cache:"pk"`
	Code  string `db:"code"  cache:"unique"`
	Shop  int64  `db:"shop"  cache:"unique_together=shop_name"`
	Name  string `db:"name"  cache:"unique_together=shop_name"`
	Owner *int64 `db:"owner" cache:"unique,fk=WidgetA"`
}

// WidgetB is a table of the same name in the schema cg_openworld_b: its
// rows never share a key with WidgetA's.
//
//cachegen:table cg_openworld_b.widgets
type WidgetB struct {
	ID    int64  `db:"id"    cache:"pk"`
	Code  string `db:"code"  cache:"unique"`
	Shop  int64  `db:"shop"  cache:"unique_together=shop_name"`
	Name  string `db:"name"  cache:"unique_together=shop_name"`
	Owner *int64 `db:"owner" cache:"unique"`
}
