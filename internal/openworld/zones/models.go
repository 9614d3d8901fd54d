// Package zones holds a model with time columns, read by its tests through
// the cache and with caching off under drivers and sessions that return
// times in UTC, time.Local, a named zone or a fixed offset: the cached
// value must behave exactly like the driver's. models_cachegen.go beside
// this file is generated from its tags.
package zones

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import (
	"database/sql"
	"time"
)

// Event is one row per test instant. At is a zone-aware column where the
// database has one (timestamptz, TIMESTAMP), Wall a wall-clock one
// (timestamp, DATETIME); Maybe and Null are NULL on some rows.
//
//cachegen:table events
type Event struct {
	ID    int64        `db:"id"    cache:"pk,manual"`
	Name  string       `db:"name"  cache:"unique"`
	At    time.Time    `db:"at"`
	Wall  time.Time    `db:"wall"`
	Maybe *time.Time   `db:"maybe"`
	Null  sql.NullTime `db:"null_at"`
}
