// Package twobuilds runs two generated versions of one model on one table,
// sharing one store and one key prefix, the way two builds of a service do
// during a rolling deploy that adds a column (v1 and v2 are the builds).
// Every write by either build must be seen at once by the other, on every
// index.
package twobuilds
