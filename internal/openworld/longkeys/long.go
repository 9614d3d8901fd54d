// Package longkeys has a model whose table and column names are as long as
// PostgreSQL allows (63 bytes), so that with a long key prefix its keys are
// hashed. long_cachegen.go beside this file is generated from its tags.
package longkeys

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

// Long has a unique column and a unique_together group, all with the
// longest names.
//
//cachegen:table long_table_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_
type Long struct {
	ID int64  `db:"id" cache:"pk"`
	A  string `db:"long_unique_column_a_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_" cache:"unique"`
	B  string `db:"long_group_column_b_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x" cache:"unique_together=pair"`
	C  int64  `db:"long_group_column_c_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x" cache:"unique_together=pair"`
}

// The names, for the tests' plain SQL.
const (
	Table   = "long_table_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_"
	ColumnA = "long_unique_column_a_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_"
	ColumnB = "long_group_column_b_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x"
	ColumnC = "long_group_column_c_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x"
)
