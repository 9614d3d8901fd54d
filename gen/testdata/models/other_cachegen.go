package models

// Generated is ignored when looking for models.
type Generated struct {
	ID int64 `db:"id" cache:"pk"`
}
