// Package catalog reads what a database's own catalog says about a table:
// the facts a repository cannot learn from its Go types, such as how a text
// column compares (its collation). It speaks the three dialects cachegen
// supports ("sqlite", "postgres", "mysql"), runs on any Querier (*sql.DB,
// *sql.Conn, *sql.Tx, *sqlx.DB), and knows nothing of the runtime that
// uses it.
package catalog
