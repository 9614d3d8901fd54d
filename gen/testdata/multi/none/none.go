package none

// Row is a plain sqlx struct.
type Row struct {
	ID int64 `db:"id"`
}
