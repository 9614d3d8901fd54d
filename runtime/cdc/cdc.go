// Package cdc reads a database's own change stream: PostgreSQL logical
// replication (pgoutput) and the MariaDB/MySQL row binlog. A Source turns it
// into one Batch per committed transaction, the decoded row changes and the
// Position to resume after it, so that a consumer can invalidate what those
// rows touch whoever wrote them (another service, a console, a migration).
//
// Delivery is at least once: a Source never moves its durable position past
// a transaction the consumer has not acknowledged with Ack, so a consumer
// that dies before Ack sees that transaction again when it opens the source
// from its last acknowledged position.
//
// Mapping changes to cache keys is the consumer's job (through the generated
// registry); this package knows nothing of keys.
package cdc

import (
	"context"
	"errors"
	"time"
)

// Op is what a change did to a row.
type Op uint8

const (
	Insert Op = iota + 1
	Update
	Delete
	// Truncate emptied Table: every row of it is gone. Old and New are nil.
	Truncate
)

func (o Op) String() string {
	switch o {
	case Insert:
		return "insert"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case Truncate:
		return "truncate"
	}
	return "op(?)"
}

// Change is one row changed by a committed transaction.
type Change struct {
	// Table is schema-qualified as the database names it: "public.users"
	// (PostgreSQL schema), "shop.users" (MySQL database).
	Table string
	Op    Op
	// Old is the row before an Update or Delete, every column by name (nil
	// for an Insert). On PostgreSQL it is complete only on a table with
	// REPLICA IDENTITY FULL; otherwise Partial is set and Old holds the
	// replica identity's columns (the primary key) of a Delete, or of an
	// Update that changed them, and is nil for an Update that did not (the
	// key is then New's).
	//
	// Values are as the driver library decodes them: on PostgreSQL what
	// pgx gives for the column's type from its text form (int64, string,
	// time.Time, []byte, pgtype values…; text for a type pgx does not
	// know); on MariaDB/MySQL what go-mysql gives (signed or unsigned
	// integers of the column's width, string for CHAR, VARCHAR, BINARY,
	// VARBINARY, DECIMAL, DATETIME and TIMESTAMP (in UTC), []byte for
	// TEXT and BLOB). Turning them into key values is the consumer's job.
	Old map[string]any
	// New is the row after an Insert or Update (nil for a Delete).
	New map[string]any
	// Partial: Old lacks columns (a PostgreSQL table without REPLICA
	// IDENTITY FULL). A consumer that needs an old unique value it lacks
	// must invalidate by what it has (the primary key) and by the table.
	Partial bool
	// Unknown lists the columns of New whose value the stream did not carry
	// and the source could not fill in: PostgreSQL sends an unchanged TOAST
	// value (a large text or bytea value stored out of line, status 'u') as
	// "unchanged" without its value. With REPLICA IDENTITY FULL the old
	// tuple carries it, and the source copies it from Old into New (the
	// column did not change), so Unknown stays empty. Without the old value
	// a column is listed here and absent from New: a consumer must not build
	// a key from it; the column did not change, so the keys of its value
	// were not changed by this row either, but its value is not known here:
	// invalidate by the primary key (rereading the row), or the table.
	Unknown []string
}

// Position names the point just after a transaction in a database's change
// stream: an LSN on PostgreSQL ("0/16B3748"), a MariaDB GTID position
// ("0-1-42", one GTID per replication domain, comma-separated) or a MySQL
// GTID set. It is opaque to the consumer, who stores it and gives it back
// to open a source where it left off. The empty Position means "from now"
// (on PostgreSQL: from where the slot stands).
type Position string

// Batch is one committed transaction.
type Batch struct {
	// Position is where to resume after this transaction; Ack it once the
	// transaction's invalidations are applied.
	Position Position
	// Commit is the transaction's commit time on the database's clock
	// (PostgreSQL: the commit timestamp; MariaDB: the event time, in whole
	// seconds), for lag.
	Commit time.Time
	// Changes are the transaction's row changes in commit order.
	Changes []Change
	// Collapsed: the transaction changed more rows than Options.MaxChanges,
	// so Changes is nil and Tables lists every table it changed; the
	// consumer must invalidate those tables as a whole. It bounds the
	// memory a transaction takes to MaxChanges changes whatever its size.
	Collapsed bool
	// Tables lists the tables the transaction changed, each once, in
	// order of first change (also when not Collapsed).
	Tables []string
}

// Source is a database's change stream. Next is called from one goroutine
// at a time; Ack may be called from another while Next waits, so that a
// consumer reads the next transactions while it applies the last ones.
type Source interface {
	// Next blocks until the next committed transaction and returns it.
	// An error ends the stream: the consumer closes the source and opens a
	// new one from its last acknowledged position.
	Next(ctx context.Context) (*Batch, error)
	// Ack says every transaction up to and including the one at pos is
	// applied: the source may let the database release it (PostgreSQL:
	// the slot's confirmed flush LSN advances; nothing is kept on the
	// MariaDB server, the consumer stores pos itself).
	Ack(ctx context.Context, pos Position) error
	// Close ends the stream and releases the connection.
	Close() error
}

// ErrPositionLost: the source cannot resume from the position it was given
// (a replication slot dropped or invalidated, a binlog purged). Changes since
// that position are unknown: the consumer must invalidate every table it
// serves, log it, then open the source again from the empty Position.
var ErrPositionLost = errors.New("cdc: the change stream position is lost")

// ErrConfig: the database is not set up for change capture (wal_level,
// REPLICA IDENTITY, binlog_format, binlog_row_image…); the message gives
// the setting to change.
var ErrConfig = errors.New("cdc: database not configured for change capture")
