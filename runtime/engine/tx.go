package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Tx is a database transaction that repositories join with WithTx. The cache
// keys its writes change are locked as each write runs and stay locked until
// the transaction ends: Commit releases them after the commit, Rollback after
// the rollback. No reader fills them meanwhile, and no reader is served a
// value older than the commit once Commit returns.
//
// Locks carry the lock TTL (runtime.WithLockTTL, 30s by default); a
// transaction that stays open longer lets readers fill the keys again before
// it commits, and its release after commit then clears them.
type Tx struct {
	tx   *sqlx.Tx
	mu   sync.Mutex
	ends []func()
	done bool
}

// Begin starts a transaction on db.
func Begin(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cachegen: begin: %w", err)
	}
	return &Tx{tx: tx}, nil
}

// InTx runs fn in a transaction: it commits when fn returns nil and rolls
// back when fn returns an error or panics.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *Tx) error) (err error) {
	tx, err := Begin(ctx, db, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, rerr)
		}
		return err
	}
	return tx.Commit()
}

// Sqlx returns the underlying transaction, for statements of the
// application's own. Rows it changes in cached tables must be invalidated
// with the repository's Invalidate… methods, called with the repository
// joined to this Tx, so that they too wait for the commit.
func (tx *Tx) Sqlx() *sqlx.Tx { return tx.tx }

// Commit commits the transaction, then releases the cache keys its writes
// locked, whether or not the commit succeeded.
func (tx *Tx) Commit() error {
	err := tx.tx.Commit()
	tx.end()
	if err != nil {
		return fmt.Errorf("cachegen: commit: %w", err)
	}
	return nil
}

// Rollback rolls the transaction back, then releases the cache keys its
// writes locked. The rolled back rows were never visible, so the keys are
// simply reopened for filling.
func (tx *Tx) Rollback() error {
	err := tx.tx.Rollback()
	tx.end()
	if err != nil {
		return fmt.Errorf("cachegen: rollback: %w", err)
	}
	return nil
}

// onEnd registers a release to run when the transaction ends, or at once if
// it already has.
func (tx *Tx) onEnd(release func()) {
	tx.mu.Lock()
	if tx.done {
		tx.mu.Unlock()
		release()
		return
	}
	tx.ends = append(tx.ends, release)
	tx.mu.Unlock()
}

func (tx *Tx) end() {
	tx.mu.Lock()
	ends := tx.ends
	tx.ends, tx.done = nil, true
	tx.mu.Unlock()
	for _, release := range ends {
		release()
	}
}
