// Package gen reads the models of Go packages: structs whose fields carry
// cachegen tags. It type-checks the packages, validates the tags, and
// returns a model of each struct that says everything its generated
// repository needs: the table and columns, the primary key, the unique
// lookups and their miss policies, the codec of each field, the foreign
// key loaders and the names of the generated types and methods.
//
// Its audience is the rest of the generator: cmd/cachegen calls Load and
// passes the resulting Packages to templates, which emits the code; gen
// itself writes no Go. Applications do not import it.
//
// Load reports every problem it finds, not just the first, as an
// ErrorList of Error values, each with the position of the offending tag
// or declaration and, where one helps, a hint on how to fix it.
//
// Model.Catalog gives what a model says its table looks like, for the
// check against the live database that cachegen -verify and
// runtime.WithVerify run.
package gen
