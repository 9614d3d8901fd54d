// Package buildtag has a model in a file with a build constraint beside
// one without: the constrained model's generated file carries the same
// constraint, and Repos holds the models of the files built always.
package buildtag

// Org is built always.
type Org struct {
	ID   int64  `db:"id" cache:"pk"`
	Name string `db:"name" cache:"unique"`
}
