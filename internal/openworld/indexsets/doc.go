// Package indexsets runs two generated builds of one model that declare
// different unique indexes on one table, sharing one store and one key
// prefix: v2 adds a unique index on a column v1 maps without indexing
// (handle) and one on a column v1 does not map (code). Each build must see
// the other's acknowledged writes at once, on every index (the build board,
// runtime/builds.go).
package indexsets
