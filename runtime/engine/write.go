package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/cachegen/cachegen/runtime/observe"
	"github.com/cachegen/cachegen/runtime/store"
)

// Save inserts or updates row, Django style: a zero primary key that the
// database generates means insert, and the new key is written back into
// row; otherwise the row is updated, or inserted when no row has that key.
// On error row is left as it was.
//
// Inside the transaction the current row is read under the row lock, so the
// keys of its old unique values are known; those keys, the keys of the new
// values and the All key are locked in the store before commit and released
// after it. An insert with a generated key, and an update that keeps its
// unique values, take a shorter path (shortcuts.go): their keys are locked
// first, then one statement writes and commits the row, then they are
// released.
func (t *Table[T]) Save(ctx context.Context, row *T) error {
	before := *row
	insert := t.spec.AutoPK && t.spec.Mapper.PKIsZero(row)
	guard := !insert && t.guardable(ctx)
	fn := func(ctx context.Context, tx *sqlx.Tx) ([]*T, error) {
		vals := t.spec.Mapper.Values(row)
		if insert {
			id, err := t.insertAuto(ctx, tx, t.withoutPK(vals))
			if err != nil {
				return nil, err
			}
			t.spec.Mapper.SetPK(row, id)
			return []*T{row}, nil
		}
		if guard && t.tx != nil {
			// In the caller's transaction: the guarded UPDATE, whose row
			// lock lasts until that transaction ends.
			if ok, err := t.updateGuarded(ctx, tx, vals); err != nil || ok {
				return []*T{row}, err
			}
		}
		old, err := t.lockRow(ctx, tx, vals[t.pkCol])
		if err != nil {
			return nil, err
		}
		if old == nil {
			if _, err := tx.ExecContext(ctx, t.sql.insert, vals...); err != nil {
				return nil, fmt.Errorf("cachegen: insert into %s: %w", t.spec.Table, err)
			}
			return []*T{row}, nil
		}
		if t.sql.update != "" {
			args := append(t.withoutPK(vals), vals[t.pkCol])
			if _, err := tx.ExecContext(ctx, t.sql.update, args...); err != nil {
				return nil, fmt.Errorf("cachegen: update %s: %w", t.spec.Table, err)
			}
		}
		return []*T{row, old}, nil
	}
	var err error
	switch {
	case insert && t.tx == nil && !t.opts.noShortcuts:
		err = t.writeFirst(ctx, "save", t.insertKeys(row), func(ctx context.Context) (bool, error) {
			id, err := t.insertAuto(ctx, t.db, t.withoutPK(t.spec.Mapper.Values(row)))
			if err == nil {
				t.spec.Mapper.SetPK(row, id)
			}
			return true, err
		}, fn)
	case guard && t.tx == nil:
		err = t.writeFirst(ctx, "save", t.writeKeys([]*T{row}), func(ctx context.Context) (bool, error) {
			return t.updateGuarded(ctx, t.db, t.spec.Mapper.Values(row))
		}, fn)
	default:
		err = t.write(ctx, "save", fn)
	}
	if err != nil {
		*row = before
	}
	return err
}

// Delete deletes the row whose primary key is the one in probe and
// invalidates every key of it and the All key. It returns ErrNotFound when
// there is no such row.
//
// Outside a transaction of the application's it first reads the row
// without a lock and deletes it by the guarded DELETE (shortcuts.go), with
// its keys locked before; a row whose unique values changed in between is
// deleted in a transaction instead.
func (t *Table[T]) Delete(ctx context.Context, probe *T) error {
	returns := t.deleteReturns(ctx)
	fn := func(ctx context.Context, tx *sqlx.Tx) ([]*T, error) {
		pk := t.spec.Mapper.Values(probe)[t.pkCol]
		if returns {
			old, err := t.deleteRow(ctx, tx, pk)
			if err == nil && old == nil {
				err = ErrNotFound
			}
			return []*T{old}, err
		}
		old, err := t.lockRow(ctx, tx, pk)
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, t.sql.deleteByPK, pk); err != nil {
			return nil, fmt.Errorf("cachegen: delete from %s: %w", t.spec.Table, err)
		}
		return []*T{old}, nil
	}
	if !t.deleteGuardable(ctx) {
		return t.write(ctx, "delete", fn)
	}
	start := time.Now()
	old, err := t.deleteGuess(ctx, probe, t.spec.Mapper.Values(probe)[t.pkCol])
	if err == nil && old == nil {
		err = ErrNotFound
	}
	if err != nil {
		t.stats.dbWrites.Add(1)
		t.wrote(ctx, "delete", start, time.Since(start), err)
		return err
	}
	return t.writeFirst(ctx, "delete", t.writeKeys([]*T{old}), func(ctx context.Context) (bool, error) {
		return t.deleteGuarded(ctx, old)
	}, fn)
}

// write runs fn in a transaction and invalidates the keys of the rows it
// returns (old and new versions) and the All key: locked before commit,
// released after it, whether or not the commit succeeded. Joined to a Tx,
// it runs fn in that transaction and leaves the release to its end.
func (t *Table[T]) write(ctx context.Context, op string, fn func(context.Context, *sqlx.Tx) ([]*T, error)) error {
	t.stats.dbWrites.Add(1)
	start := time.Now()
	var dbTime time.Duration
	err := t.writeIn(ctx, fn, &dbTime, nil)
	t.wrote(ctx, op, start, dbTime, err)
	return err
}

// wrote reports a write to the observer.
func (t *Table[T]) wrote(ctx context.Context, op string, start time.Time, dbTime time.Duration, err error) {
	if t.obs != nil {
		t.obs.emit(ctx, observe.Event{Kind: observe.EventWrite, Table: t.spec.Table, Op: op, Start: start,
			Duration: time.Since(start), DBTime: dbTime, Err: err})
	}
}

// heldLocks are keys a write locked before its transaction began (see
// writeFirst), and those of them the store did not lock.
type heldLocks struct {
	keys   []string
	failed map[string]bool
}

// writeIn runs fn in a transaction (or the caller's) and locks and
// releases the keys of the rows it returns. held, when not nil, are keys
// already locked, by a write that has begun on the build board (see
// writeFirst): they are not locked again, and are released with the others
// after commit (or after fn's error).
func (t *Table[T]) writeIn(ctx context.Context, fn func(context.Context, *sqlx.Tx) ([]*T, error), dbTime *time.Duration, held *heldLocks) error {
	if held == nil {
		done := t.beginWrite(ctx) // the build board: see builds.go
		if t.tx != nil {
			// In the caller's transaction: lock now, release when it ends.
			start := time.Now()
			rows, err := fn(ctx, t.tx.tx)
			*dbTime = time.Since(start)
			if err != nil {
				done()
				return err
			}
			keys := t.writeKeys(rows)
			lockFailed := t.lock(ctx, keys)
			t.tx.onEnd(func() { t.release(context.WithoutCancel(ctx), keys, lockFailed); done() })
			return nil
		}
		defer done()
	}
	start := time.Now()
	tx, err := t.db.BeginTxx(ctx, nil)
	if err != nil {
		if held != nil {
			t.release(ctx, held.keys, held.failed)
		}
		return fmt.Errorf("cachegen: begin write to %s: %w", t.spec.Table, err)
	}
	rows, err := fn(ctx, tx)
	if err != nil {
		_ = tx.Rollback()
		*dbTime += time.Since(start)
		if held != nil {
			t.release(ctx, held.keys, held.failed)
		}
		return err
	}
	keys := t.writeKeys(rows)
	*dbTime += time.Since(start)
	toLock, lockFailed := keys, map[string]bool(nil)
	if held != nil {
		toLock, keys, lockFailed = held.merge(keys)
	}
	for k := range t.lock(ctx, toLock) {
		if lockFailed == nil {
			lockFailed = map[string]bool{}
		}
		lockFailed[k] = true
	}
	commitStart := time.Now()
	err = tx.Commit()
	*dbTime += time.Since(commitStart)
	t.release(ctx, keys, lockFailed)
	if err != nil {
		return fmt.Errorf("cachegen: commit write to %s: %w", t.spec.Table, err)
	}
	return nil
}

// merge returns, of a transaction's keys, those h does not hold yet, the
// keys to release (h's and those), and h's failed locks.
func (h *heldLocks) merge(keys []string) (toLock, all []string, failed map[string]bool) {
	all = h.keys
	for _, k := range keys {
		if !slices.Contains(h.keys, k) {
			toLock = append(toLock, k)
			all = append(all, k)
		}
	}
	failed = h.failed
	return toLock, all, failed
}

// writeFirst runs a write that needs no transaction (see shortcuts.go):
// keys, every key the write may change, are locked first; stmt then runs
// one statement that commits on its own, and the keys are released after
// it. A statement that changed nothing (stmt reports false) leaves the
// write to fn in a transaction, which locks the keys it learns besides
// those, and releases them all. While other builds' indexes must be
// locked too (the build board), fn runs alone: keys are this build's only.
func (t *Table[T]) writeFirst(ctx context.Context, op string, keys []string, stmt func(context.Context) (bool, error), fn func(context.Context, *sqlx.Tx) ([]*T, error)) error {
	t.stats.dbWrites.Add(1)
	start := time.Now()
	var dbTime time.Duration
	done := t.beginWrite(ctx) // the build board: see builds.go
	if t.builds != nil && t.builds.learnsAny() {
		done()
		err := t.writeIn(ctx, fn, &dbTime, nil)
		t.wrote(ctx, op, start, dbTime, err)
		return err
	}
	defer done()
	if err := ctx.Err(); err != nil {
		t.wrote(ctx, op, start, 0, err)
		return err
	}
	held := &heldLocks{keys: keys, failed: t.lock(ctx, keys)}
	stmtStart := time.Now()
	ok, err := stmt(ctx)
	dbTime = time.Since(stmtStart)
	if err != nil && ctx.Err() != nil {
		// The write stopped waiting for a statement that may still
		// commit: released now, its keys could take a fill of the row it
		// replaces. They stay locked until the lock TTL (reads go to the
		// database meanwhile); those whose lock failed are retried.
		for k := range held.failed {
			t.invalidationFailed(ctx, k, err, true)
		}
		t.wrote(ctx, op, start, dbTime, err)
		return err
	}
	if err != nil || ok {
		t.release(ctx, keys, held.failed)
		t.wrote(ctx, op, start, dbTime, err)
		return err
	}
	err = t.writeIn(ctx, fn, &dbTime, held)
	t.wrote(ctx, op, start, dbTime, err)
	return err
}

// writeKeys lists, once each, every key of rows and the All key.
func (t *Table[T]) writeKeys(rows []*T) []string {
	keys := t.indexKeys(rows, 0)
	keys = t.learnedKeys(keys, rows)
	return append(keys, t.allKey)
}

// indexKeys lists, once each, the keys of rows under the indexes from the
// first on (1: every index but the primary key's), with room for the All
// key.
func (t *Table[T]) indexKeys(rows []*T, first int) []string {
	keys := make([]string, 0, len(rows)*len(t.spec.Indexes)+1)
	var seen map[string]bool // for a bulk write's many keys
	if len(rows) > 4 {
		seen = make(map[string]bool, cap(keys))
	}
	for _, row := range rows {
		for i := first; i < len(t.spec.Indexes); i++ {
			k := t.Key(i, row)
			dup := false
			if seen != nil {
				dup = seen[k]
				seen[k] = true
			} else {
				for _, have := range keys {
					if have == k {
						dup = true
						break
					}
				}
			}
			if !dup {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// lock takes a write lock on every key and returns the keys it could not
// lock. A store that fails does not stop the write (the cache is never a
// dependency of a write): those keys are invalidated again after commit.
//
// It is one phase: every lock in one call (one round trip on a store that
// batches), one attempt, bounded by the phase timeout, so a dead or hung
// store never keeps the transaction, and the row locks it holds, open for
// longer than that.
func (t *Table[T]) lock(ctx context.Context, keys []string) map[string]bool {
	if t.store == nil || len(keys) == 0 {
		return nil
	}
	ctx = uncancelable(ctx)
	pctx, cancel := context.WithTimeout(ctx, t.opts.phaseTimeout)
	defer cancel()
	ops := make([]store.LockOp, len(keys))
	for i, k := range keys {
		ops[i] = store.LockOp{Key: k, TTL: t.opts.lockTTL}
	}
	var pubErr error
	if t.near != nil {
		// Other processes drop their copies now, before the commit: from
		// here until the release the store answers nobody with a value to
		// keep. The message follows the locks in the phase's own round
		// trip where the store can carry it. Keys the bus did not take are
		// announced again after commit.
		t.near.dropKeys(keys)
		pubErr = t.breaker.LockManyAnnounce(pctx, ops, t.near.bus, keys)
	} else {
		store.Batched(t.store).LockMany(pctx, ops)
	}
	var failed map[string]bool
	for _, op := range ops {
		if op.Err != nil {
			t.storeFailed(ctx, "lock", op.Err)
			t.retries.hold(op.Key)
			if failed == nil {
				failed = map[string]bool{}
			}
			failed[op.Key] = true
		}
	}
	if pubErr != nil {
		t.storeFailed(ctx, "publish", pubErr)
		for _, k := range keys {
			if !failed[k] {
				t.retries.hold(k)
				if failed == nil {
					failed = map[string]bool{}
				}
				failed[k] = true
			}
		}
	}
	return failed
}

// uncancelable is ctx without its cancellation and deadline: a write's
// phases are bounded by the phase timeout alone. A context that has none
// (the common context.Background()) is used as it is, saving an
// allocation.
func uncancelable(ctx context.Context) context.Context {
	if _, ok := ctx.Deadline(); ok || ctx.Done() != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// release drops the write locks after commit, in one phase bounded like
// lock's. A key whose lock or release failed may still hold the old value,
// so it goes to the retry queue, which invalidates it once the store
// answers again.
func (t *Table[T]) release(ctx context.Context, keys []string, lockFailed map[string]bool) {
	if t.store == nil {
		return
	}
	ctx = uncancelable(ctx)
	pctx, cancel := context.WithTimeout(ctx, t.opts.phaseTimeout)
	defer cancel()
	ops := make([]store.UnlockOp, len(keys))
	for i, k := range keys {
		ops[i].Key = k
	}
	if t.near == nil {
		store.Batched(t.store).UnlockMany(pctx, ops)
		for _, op := range ops {
			t.released(ctx, op, lockFailed)
		}
		return
	}
	// The lock kept other processes from keeping the old row only if the
	// store held it throughout: a lock that expired (a transaction longer
	// than the lock TTL) or was lost (a flush, a restart, an eviction)
	// let one of them read the database before the commit and keep what
	// it read. So every key is announced again, after its release, in the
	// phase's round trip where the store can carry the message. A key
	// whose release failed is announced too, which costs nothing: it is
	// queued for a retry either way.
	t.near.dropKeys(keys)
	pubErr := t.breaker.UnlockManyAnnounce(pctx, ops, t.near.bus, keys)
	if pubErr != nil {
		t.storeFailed(ctx, "publish", pubErr)
	}
	for _, op := range ops {
		if op.Err == nil && pubErr != nil {
			// Released, but other processes' near caches were not told.
			t.stats.invalidations.Add(1)
			t.invalidationFailed(ctx, op.Key, pubErr, lockFailed[op.Key])
			continue
		}
		t.released(ctx, op, lockFailed)
	}
}

// released accounts for one release of a write's key: a failed one goes
// to the retry queue; a successful one invalidated the key (a release
// deletes whatever the key holds once the commit is visible, so it
// invalidates even where the lock had failed).
func (t *Table[T]) released(ctx context.Context, op store.UnlockOp, lockFailed map[string]bool) {
	if op.Err != nil {
		t.storeFailed(ctx, "unlock", op.Err)
		t.invalidationFailed(ctx, op.Key, op.Err, lockFailed[op.Key])
		return
	}
	t.stats.invalidations.Add(1)
	if lockFailed[op.Key] {
		t.retries.unhold(op.Key)
	}
}

// invalidationFailed queues key for a retry (held: its pending mark is
// already set) and reports it.
func (t *Table[T]) invalidationFailed(ctx context.Context, key string, err error, held bool) {
	t.retries.add(key, held)
	if t.obs != nil {
		t.obs.emit(ctx, observe.Event{Kind: observe.EventInvalidationFailed, Table: t.spec.Table, Key: key, Err: err})
	}
}

// lockRow reads the current row with primary key pk under the row lock
// (nil when there is none).
func (t *Table[T]) lockRow(ctx context.Context, tx *sqlx.Tx, pk any) (*T, error) {
	if t.sql.lockRow != "" {
		if _, err := tx.ExecContext(ctx, t.sql.lockRow, pk); err != nil {
			return nil, fmt.Errorf("cachegen: lock %s row: %w", t.spec.Table, err)
		}
	}
	old := new(T)
	err := t.spec.Mapper.Scan(tx.QueryRowContext(ctx, t.sql.selectForUpd, pk), old)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cachegen: read %s row for update: %w", t.spec.Table, err)
	}
	return old, nil
}

// insertAuto inserts vals (every column but the pk) on ex, a transaction
// or the database itself (an insert outside a transaction: see Save), and
// returns the generated key.
func (t *Table[T]) insertAuto(ctx context.Context, ex sqlx.ExtContext, vals []any) (int64, error) {
	var id int64
	if t.sql.autoReturning {
		if err := ex.QueryRowxContext(ctx, t.sql.insertAuto, vals...).Scan(&id); err != nil {
			return 0, fmt.Errorf("cachegen: insert into %s: %w", t.spec.Table, err)
		}
		return id, nil
	}
	res, err := ex.ExecContext(ctx, t.sql.insertAuto, vals...)
	if err != nil {
		return 0, fmt.Errorf("cachegen: insert into %s: %w", t.spec.Table, err)
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, fmt.Errorf("cachegen: insert into %s: generated key: %w", t.spec.Table, err)
	}
	return id, nil
}

func (t *Table[T]) withoutPK(vals []any) []any {
	out := make([]any, 0, len(vals))
	for i, v := range vals {
		if i != t.pkCol {
			out = append(out, v)
		}
	}
	return out
}
