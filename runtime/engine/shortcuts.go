package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/cachegen/cachegen/internal/catalog"
)

// Writes skip the read of the old row under the row lock (lockRow), when
// the database can tell them the old unique values another way:
//
//   - an update whose statement proves the unique values unchanged: it
//     matches the row only if each unique column already equals the new
//     value, and it locks the row as it updates it, so no other writer can
//     change them before commit (guardFor). That is sound only where the
//     guard's equality is the key's: it must match only a row whose values,
//     as a reader reads them back, are the bytes the keys are built from.
//     Integers and bools compare as they are, and text and bytes the
//     catalog says compare byte for byte; other text is compared as bytes
//     where the catalog knows a form (Dialect.bytewise: a binary
//     comparison on MariaDB/MySQL, COLLATE BINARY on SQLite, COLLATE "C"
//     on PostgreSQL), since its own equality under a loose collation
//     (_ci, PAD SPACE, NOCASE, ICU, citext) would take another spelling
//     for the new value's and leave that spelling's key unlocked. And only
//     while no other build's index must be locked too (their columns are
//     not in the guard). A statement that matches nothing (a changed
//     unique value, a NULL, a missing row, or on MariaDB/MySQL a row whose
//     values are all unchanged, which the driver reports as no row
//     affected) changed nothing and falls back to the locked path, in a
//     transaction (see writeFirst: outside one of the application's, the
//     guarded statement runs on its own, between the locks and the
//     releases of the keys of its values).
//   - a delete that returns the row it deleted (DELETE … RETURNING on
//     PostgreSQL, MariaDB 10.5+, SQLite 3.35+): the transaction a guarded
//     delete (below) falls back to.
//
// Two more skip the transaction itself, as the guarded update does:
//
//   - an insert whose primary key the database generates: the keys of its
//     unique values and the All key are known before the statement, and no
//     other key can hold anything of the new row. Its primary key's key,
//     unknown until the statement has committed, holds no cached not-found
//     either, because a not-found is never stored under a generated
//     primary key (keepsMisses).
//   - a delete guarded like the update: the row is read first, without a
//     lock, its keys are locked, and DELETE … WHERE pk = ? AND <each unique
//     column> = <the value read> commits only if the row still holds those
//     values. A table whose only index is the primary key needs no read.

// guardable reports whether an update may try a guarded UPDATE: every
// index, the primary key's included, is made of integers and bools, or of
// text and bytes the statement can compare with the new values byte for
// byte (the catalog is read once per table, before the write's
// transaction: see guardFrom). Floats, times and custom types never are.
func (t *Table[T]) guardable(ctx context.Context) bool {
	return !t.opts.noShortcuts && t.guard(ctx) != nil
}

// guard returns the table's guarded UPDATE, nil when it has none.
func (t *Table[T]) guard(ctx context.Context) *guarded {
	if t.sql.guarded.sql == "" {
		return nil
	}
	text := false
	for _, ix := range t.spec.Indexes {
		switch ix.Misses {
		case CacheMisses:
		case CacheMissesIfExact:
			text = true
		default:
			return nil
		}
	}
	if !text {
		return &t.sql.guarded
	}
	if t.exact.known.Load() == nil {
		t.readExactness(ctx)
	}
	return t.exact.guard.Load()
}

// guardFrom builds the guarded UPDATE of a table with text indexes from
// what the catalog says of its columns (cs): nil when a text column of an
// index has no byte-for-byte comparison. An equality looser than the
// key's would be unsound: "carol@x" matching the row "CAROL@X  " under a
// _ci PAD SPACE collation would update a row whose old keys (its own
// spelling's) the write never locked.
func (t *Table[T]) guardFrom(cs []catalog.Comparison) *guarded {
	if t.sql.update == "" {
		return nil
	}
	how := func(c int) catalog.Bytewise {
		if cmp, ok := catalog.Find(cs, t.spec.Columns[c]); ok {
			return cmp.Bytewise
		}
		return catalog.NotBytewise
	}
	g, ok := t.dialect.guardsFor(&t.sql, t.spec.Columns, t.spec.Indexes, t.pkCol, how)
	if !ok {
		return nil
	}
	return &g
}

// updateGuarded runs the guarded UPDATE on ex (a transaction, or the
// database when the write's keys are locked already: see writeFirst) and
// reports whether it updated the row.
func (t *Table[T]) updateGuarded(ctx context.Context, ex sqlx.ExecerContext, vals []any) (bool, error) {
	if t.builds != nil && t.builds.learnsAny() {
		return false, nil
	}
	g := t.guard(ctx)
	if g == nil {
		return false, nil
	}
	return t.runGuarded(ctx, ex, "update", g.sql, append(t.withoutPK(vals), vals[t.pkCol]), g.cols, vals)
}

// runGuarded runs a guarded statement (query, of the write op) with args
// and then the values of the guard's columns, and reports whether it
// changed the one row.
func (t *Table[T]) runGuarded(ctx context.Context, ex sqlx.ExecerContext, op, query string, args []any, cols []int, vals []any) (bool, error) {
	for _, c := range cols {
		args = append(args, vals[c])
	}
	res, err := ex.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("cachegen: %s %s: %w", op, t.spec.Table, err)
	}
	n, err := res.RowsAffected()
	return err == nil && n == 1, nil
}

// deleteReturns reports whether the database deletes and returns a row in
// one statement; it asks the server's version once per table.
func (t *Table[T]) deleteReturns(ctx context.Context) bool {
	if t.opts.noShortcuts {
		return false
	}
	switch t.returning.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	ok, err := t.dialect.deleteReturning(ctx, t.db)
	if err != nil {
		return false // asked again next time
	}
	if ok {
		t.returning.Store(1)
	} else {
		t.returning.Store(2)
	}
	return ok
}

// deleteReturning reports whether db runs DELETE … RETURNING.
func (d Dialect) deleteReturning(ctx context.Context, db *sqlx.DB) (bool, error) {
	var v string
	switch d {
	case Postgres:
		return true, nil
	case SQLite:
		if err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
			return false, err
		}
		return versionAtLeast(v, 3, 35), nil
	case MySQL:
		if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
			return false, err
		}
		return strings.Contains(v, "MariaDB") && versionAtLeast(v, 10, 5), nil
	}
	return false, nil
}

// versionAtLeast reports whether v ("10.11.19-MariaDB-…", "3.46.0") is at
// least major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// deleteRow deletes the row with primary key pk and returns it (nil when
// there was none), in one statement.
func (t *Table[T]) deleteRow(ctx context.Context, tx *sqlx.Tx, pk any) (*T, error) {
	old := new(T)
	err := t.spec.Mapper.Scan(tx.QueryRowContext(ctx, t.sql.deleteReturning, pk), old)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cachegen: delete from %s: %w", t.spec.Table, err)
	}
	return old, nil
}

// keepsMisses reports whether a confirmed miss on index i may be stored:
// not on a primary key the database generates, whose insert commits before
// it knows the key (see the insert of Save) and so cannot lock it first; a
// not-found cached under it before the insert would outlive the commit.
// Every build and version of a table must agree, so this does not depend
// on WithoutWriteShortcuts.
func (t *Table[T]) keepsMisses(i int) bool {
	return i != 0 || !t.spec.AutoPK
}

// insertKeys lists the keys an insert with a generated primary key locks:
// those of its unique values, and the All key.
func (t *Table[T]) insertKeys(row *T) []string {
	return append(t.indexKeys([]*T{row}, 1), t.allKey)
}

// deleteGuardable reports whether Delete may take the guarded DELETE: the
// same conditions as the guarded update's.
func (t *Table[T]) deleteGuardable(ctx context.Context) bool {
	return t.tx == nil && !t.opts.noShortcuts && t.guard(ctx) != nil
}

// deleteGuess reads the row with primary key pk without a lock, for the
// keys a guarded delete locks (nil when there is none). A table whose only
// index is the primary key needs no read: the probe's key is the row's.
func (t *Table[T]) deleteGuess(ctx context.Context, probe *T, pk any) (*T, error) {
	if g := t.guard(ctx); g != nil && len(g.cols) == 0 {
		return probe, nil
	}
	row := new(T) // a write's read, as lockRow's: not in Stats().DBReads
	err := t.spec.Mapper.Scan(t.db.QueryRowxContext(ctx, t.sql.selectBy[0], pk), row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cachegen: read %s row to delete: %w", t.spec.Table, err)
	}
	return row, nil
}

// deleteGuarded deletes the row with old's primary key only if it still
// holds old's unique values, outside a transaction (its keys are locked:
// see writeFirst), and reports whether it did.
func (t *Table[T]) deleteGuarded(ctx context.Context, old *T) (bool, error) {
	if t.builds != nil && t.builds.learnsAny() {
		return false, nil
	}
	g := t.guard(ctx)
	if g == nil {
		return false, nil
	}
	vals := t.spec.Mapper.Values(old)
	args := make([]any, 1, 1+len(g.cols))
	args[0] = vals[t.pkCol]
	return t.runGuarded(ctx, t.db, "delete from", g.del, args, g.cols, vals)
}
