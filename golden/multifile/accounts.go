// Package multifile declares models in two files; each gets its own
// generated file, and the file without models gets none.
package multifile

// Account is declared in this file.
type Account struct {
	ID    int64  `db:"id"    cache:"pk"`
	Login string `db:"login" cache:"unique"`
}
