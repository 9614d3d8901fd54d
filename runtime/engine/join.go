package engine

import (
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// Join wraps tx, a transaction the application began itself, in a Tx that
// repositories join with WithTx. Their writes lock the keys they change at
// once and release them when the Tx ends, as in a transaction from Begin.
//
// The application must end the transaction through the returned Tx: its
// Commit and Rollback end tx, then release the keys. A deferred Rollback
// right after Join releases them on every path, a panic included (after a
// Commit it only reports sql.ErrTxDone).
//
// If tx is committed or rolled back directly, the keys stay locked (readers
// go to the database, which is correct but uncached) until the Tx's Commit
// or Rollback is called: it then reports an error matching sql.ErrTxDone
// and still releases them. A Tx that is never ended leaves its locks to
// expire with the lock TTL, and a key whose lock failed (the store did not
// answer during the write) is then never invalidated: the store may serve
// the row as it was before the transaction until the value's TTL.
func Join(tx *sqlx.Tx) *Tx { return &Tx{tx: tx} }

// JoinSQL is Join for a *sql.Tx begun on db's *sql.DB (db.DB). Sqlx on the
// returned Tx wraps tx with db's field mapper but without its driver name,
// so its Rebind leaves '?' as is: run the application's own statements on
// tx itself.
func JoinSQL(db *sqlx.DB, tx *sql.Tx) *Tx {
	stx := &sqlx.Tx{Tx: tx}
	if db != nil {
		stx.Mapper = db.Mapper
	}
	return &Tx{tx: stx}
}
