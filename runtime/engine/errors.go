package engine

import "database/sql"

// ErrNotFound is returned when the database confirms that no row answers a
// lookup, whether that answer came from the database or from a cached
// not-found. errors.Is(err, sql.ErrNoRows) holds for it too, so code written
// against database/sql keeps working.
var ErrNotFound error = notFoundError{}

type notFoundError struct{}

func (notFoundError) Error() string { return "cachegen: no row found" }

// Is makes errors.Is(ErrNotFound, sql.ErrNoRows) true.
func (notFoundError) Is(target error) bool { return target == sql.ErrNoRows }
