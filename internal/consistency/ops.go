package consistency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"github.com/cachegen/cachegen/runtime"
)

// newRow returns the row a write of id writes, with a fresh version: the
// unique values it last saw for id, or (change, or none seen) values drawn
// from the pools, which often belong to another row.
func (w *workload) newRow(rng *rand.Rand, id int64, known map[int64]Row, change bool) Row {
	row := Row{ID: id, Version: w.version.Add(1)}
	if k, ok := known[id]; ok && !change {
		row.Email, row.Org, row.Handle = k.Email, k.Org, k.Handle
		return row
	}
	if k, ok := known[id]; ok && rng.IntN(2) == 0 {
		row.Email = k.Email // change only the handle
	} else {
		row.Email = w.emails[rng.IntN(len(w.emails))]
	}
	oh := w.handles[rng.IntN(len(w.handles))]
	row.Org, row.Handle = oh.org, oh.handle
	return row
}

// batchIDs draws the keys of a batch read by primary key: two to six
// positions from the key set, some repeated, now and then one that names
// no row ever.
func (w *workload) batchIDs(rng *rand.Rand) []int64 {
	ids := make([]int64, 2+rng.IntN(5))
	for i := range ids {
		switch r := rng.IntN(8); {
		case r == 0 && i > 0:
			ids[i] = ids[rng.IntN(i)]
		case r == 1:
			ids[i] = w.absentID()
		default:
			ids[i] = w.ids[rng.IntN(len(w.ids))]
		}
	}
	return ids
}

// batchEmails draws the keys of a batch read by email, as batchIDs does:
// half the pool belongs to no row at any time.
func (w *workload) batchEmails(rng *rand.Rand) []string {
	emails := make([]string, 2+rng.IntN(5))
	for i := range emails {
		switch r := rng.IntN(8); {
		case r == 0 && i > 0:
			emails[i] = emails[rng.IntN(i)]
		case r == 1:
			emails[i] = w.absentEmail()
		default:
			emails[i] = w.emails[rng.IntN(len(w.emails))]
		}
	}
	return emails
}

// absentID and absentEmail name no row the run ever writes.
func (w *workload) absentID() int64 { return int64(len(w.ids)) + 1000 }

func (w *workload) absentEmail() string { return "nobody@x.org" }

func (w *workload) readOne(op *Op, a *Row, err error) *Op {
	op.Return = w.now()
	switch {
	case err == nil:
		op.Outcome, op.Rows = OK, []Row{*a}
	case errors.Is(err, runtime.ErrNotFound):
		op.Outcome = NotFound
	default:
		op.Outcome, op.Err = Failed, err.Error()
	}
	return op
}

// readMany records a batch read's result, one position per lookup.
func (w *workload) readMany(op *Op, rows []*Row, err error) *Op {
	op.Return = w.now()
	switch {
	case err != nil:
		op.Outcome, op.Err = Failed, err.Error()
	case len(rows) != len(op.Lookups):
		op.Outcome, op.Err = Failed, fmt.Sprintf("a batch read of %d keys returned %d positions", len(op.Lookups), len(rows))
	default:
		op.Outcome, op.Rows = OK, make([]Row, len(rows))
		for i, r := range rows {
			if r != nil {
				op.Rows[i] = *r
			}
		}
	}
	return op
}

func (w *workload) getByIDs(ctx context.Context, c int, in *instance, ids []int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByIDs, Wide: in.repo.Wide(), Call: w.now()}
	for _, id := range ids {
		op.Lookups = append(op.Lookups, Row{ID: id})
	}
	rows, err := in.repo.GetByIDs(ctx, ids)
	return w.readMany(op, rows, err)
}

func (w *workload) loadAccounts(ctx context.Context, c int, in *instance, ids []int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: LoadAccounts, Wide: in.repo.Wide(), Call: w.now()}
	for _, id := range ids {
		op.Lookups = append(op.Lookups, Row{ID: id})
	}
	rows, err := in.repo.LoadAccounts(ctx, ids)
	return w.readMany(op, rows, err)
}

func (w *workload) getByEmails(ctx context.Context, c int, in *instance, emails []string) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByEmails, Wide: in.repo.Wide(), Call: w.now()}
	for _, e := range emails {
		op.Lookups = append(op.Lookups, Row{Email: e})
	}
	rows, err := in.repo.GetByEmails(ctx, emails)
	return w.readMany(op, rows, err)
}

func (w *workload) loadAccount(ctx context.Context, c int, in *instance, id int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: LoadAccount, Wide: in.repo.Wide(), Lookup: Row{ID: id}, Call: w.now()}
	a, err := in.repo.LoadAccount(ctx, id)
	return w.readOne(op, a, err)
}

func (w *workload) getByID(ctx context.Context, c int, in *instance, id int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByID, Wide: in.repo.Wide(), Lookup: Row{ID: id}, Call: w.now()}
	a, err := in.repo.GetByID(ctx, id)
	return w.readOne(op, a, err)
}

func (w *workload) getByEmail(ctx context.Context, c int, in *instance, email string) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByEmail, Wide: in.repo.Wide(), Lookup: Row{Email: email}, Call: w.now()}
	a, err := in.repo.GetByEmail(ctx, email)
	return w.readOne(op, a, err)
}

func (w *workload) getByOrgHandle(ctx context.Context, c int, in *instance, oh orgHandle) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByOrgHandle, Wide: in.repo.Wide(), Lookup: Row{Org: oh.org, Handle: oh.handle}, Call: w.now()}
	a, err := in.repo.GetByOrgHandle(ctx, oh.org, oh.handle)
	return w.readOne(op, a, err)
}

// someVersion is a version to look a row up by: mostly the last one seen
// of id (current, or just replaced), else any version written so far.
func (w *workload) someVersion(rng *rand.Rand, id int64, known map[int64]Row) int64 {
	if k, ok := known[id]; ok && rng.IntN(4) != 0 {
		return k.Version
	}
	return 1 + rng.Int64N(max(1, w.version.Load()))
}

// getByVersion reads by the unique index only the second build declares.
func (w *workload) getByVersion(ctx context.Context, c int, in *instance, version int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: GetByVersion, Wide: in.repo.Wide(), Lookup: Row{Version: version}, Call: w.now()}
	a, err := in.repo.GetByVersion(ctx, version)
	return w.readOne(op, a, err)
}

func (w *workload) all(ctx context.Context, c int, in *instance) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: All, Wide: in.repo.Wide(), Call: w.now()}
	list, err := in.repo.All(ctx)
	op.Return = w.now()
	if err != nil {
		op.Outcome, op.Err = Failed, err.Error()
		return op
	}
	op.Outcome, op.Rows = OK, list
	return op
}

func (w *workload) writeOutcome(op *Op, err error) *Op {
	op.Return = w.now()
	switch {
	case err == nil:
		op.Outcome = OK
	case op.Kind == Delete && errors.Is(err, runtime.ErrNotFound):
		op.Outcome = NotFound
	default:
		op.Outcome, op.Err = Failed, err.Error()
	}
	return op
}

func (w *workload) save(ctx context.Context, c int, in *instance, repo accounts, row Row, known map[int64]Row) *Op {
	if repo.Wide() {
		row.Nick = nick(row.Version)
	}
	tr := &Trace{}
	op := &Op{Client: c, Runtime: in.id, Kind: Save, Wide: repo.Wide(), Writes: []Write{{Row: row, Trace: tr}}, Call: w.now()}
	w.writeOutcome(op, repo.Save(withTrace(ctx, tr), row))
	if op.Outcome == OK {
		known[row.ID] = row
	}
	return op
}

func (w *workload) delete(ctx context.Context, c int, in *instance, repo accounts, id int64) *Op {
	tr := &Trace{}
	op := &Op{Client: c, Runtime: in.id, Kind: Delete, Wide: repo.Wide(), Lookup: Row{ID: id}, Writes: []Write{{Delete: true, Row: Row{ID: id}, Trace: tr}}, Call: w.now()}
	return w.writeOutcome(op, repo.Delete(withTrace(ctx, tr), id))
}

// crash runs one write on a repository of its own whose releases are all
// lost: a process that dies between its commit and its invalidation.
//
// With a near cache the writer has one of its own (a separate process), on
// its runtime's bus: it announces its keys before its commit, as any writer
// does, and publishes nothing once it has died.
func (w *workload) crash(ctx context.Context, rng *rand.Rand, c int, in *instance, id int64, known map[int64]Row) *Op {
	dead := &atomic.Bool{}
	opts := w.opts
	if in.near != nil {
		nopts := w.cfg.nearOptions()
		nopts.MaxBytes = 1 << 20 // it holds nothing it could serve
		near, err := runtime.NewNearCache(crashBus{inner: in.bus, dead: dead}, nopts)
		if err != nil {
			panic(err)
		}
		defer near.Close()
		opts = append(slices.Clip(opts), runtime.WithNearCache(near))
	}
	repo, err := in.build.open(in.db, crashStore{Store: tracing(in.lower, w.keys), dead: dead}, opts...)
	if err != nil {
		panic(err)
	}
	n := int(w.crashes.Add(1))
	fake := &instance{id: 1000 + n, db: in.db, build: in.build, repo: repo}
	var op *Op
	if rng.IntN(4) == 0 {
		op = w.delete(ctx, c, fake, repo, id)
	} else {
		op = w.save(ctx, c, fake, repo, w.newRow(rng, id, known, rng.IntN(3) == 0), known)
	}
	op.Crash = true
	return op
}

// tx runs one to three writes of distinct keys in a runtime.Tx, then
// commits it, or rolls it back (rollback, or a write failed).
func (w *workload) tx(ctx context.Context, rng *rand.Rand, c int, in *instance, known map[int64]Row, rollback bool) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: Tx, Wide: in.repo.Wide(), Call: w.now()}
	n := 1 + rng.IntN(3)
	perm := rng.Perm(len(w.writeIDs()))[:n]
	slices.Sort(perm) // one lock order for every transaction
	tx, err := runtime.Begin(ctx, in.db, nil)
	if err != nil {
		op.Rollback = true
		return w.writeOutcome(op, err)
	}
	repo := in.repo.WithTx(tx)
	var failed error
	for _, k := range perm {
		id := w.ids[k]
		tr := &Trace{}
		if rng.IntN(4) == 0 {
			wr := Write{Delete: true, Row: Row{ID: id}, Trace: tr}
			err := repo.Delete(withTrace(ctx, tr), id)
			if errors.Is(err, runtime.ErrNotFound) {
				wr.NotFound, err = true, nil
			}
			op.Writes = append(op.Writes, wr)
			failed = err
		} else {
			row := w.newRow(rng, id, known, rng.IntN(6) == 0)
			if repo.Wide() {
				row.Nick = nick(row.Version)
			}
			op.Writes = append(op.Writes, Write{Row: row, Trace: tr})
			failed = repo.Save(withTrace(ctx, tr), row)
		}
		if failed != nil {
			break
		}
	}
	if failed != nil || rollback {
		op.Rollback = true
		err := tx.Rollback()
		if failed != nil {
			err = failed
		}
		return w.writeOutcome(op, err)
	}
	w.writeOutcome(op, tx.Commit())
	if op.Outcome == OK {
		for _, wr := range op.Writes {
			if !wr.Delete {
				known[wr.Row.ID] = wr.Row
			}
		}
	}
	return op
}

// oob changes a row with hand-written SQL in a runtime.Tx and invalidates
// it with InvalidateRows, old and new, joined to the Tx.
func (w *workload) oob(ctx context.Context, rng *rand.Rand, c int, in *instance, id int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: OOB, Call: w.now()}
	tx, err := runtime.Begin(ctx, in.db, nil)
	if err != nil {
		op.Rollback = true
		return w.writeOutcome(op, err)
	}
	fail := func(err error) *Op {
		_ = tx.Rollback()
		op.Rollback = true
		return w.writeOutcome(op, err)
	}
	sx := tx.Sqlx()
	q := "SELECT id, email, org, handle, version FROM accounts WHERE id = ?"
	if w.dialect == runtime.SQLite {
		// Take the write lock first, as the runtime does.
		if _, err := sx.ExecContext(ctx, "UPDATE accounts SET id = id WHERE id = ?", id); err != nil {
			return fail(err)
		}
	} else {
		q += " FOR UPDATE"
	}
	var old Row
	err = sx.QueryRowxContext(ctx, sx.Rebind(q), id).Scan(&old.ID, &old.Email, &old.Org, &old.Handle, &old.Version)
	if errors.Is(err, sql.ErrNoRows) {
		_ = tx.Rollback()
		op.Rollback = true
		op.Return, op.Outcome = w.now(), NotFound
		return op
	}
	if err != nil {
		return fail(err)
	}
	nw := old
	nw.Version = w.version.Add(1)
	if rng.IntN(3) == 0 {
		nw.Email = w.emails[rng.IntN(len(w.emails))]
	}
	tr := &Trace{}
	op.Writes = []Write{{Row: nw, Trace: tr}}
	if _, err := sx.ExecContext(ctx, sx.Rebind("UPDATE accounts SET email = ?, org = ?, handle = ?, version = ? WHERE id = ?"),
		nw.Email, nw.Org, nw.Handle, nw.Version, nw.ID); err != nil {
		return fail(err)
	}
	if err := in.repo.WithTx(tx).InvalidateRows(withTrace(ctx, tr), old, nw); err != nil {
		return fail(err)
	}
	return w.writeOutcome(op, tx.Commit())
}

// raw changes a row with raw SQL in a plain database transaction, with no
// runtime and no Invalidate: what another service or a console does. Only
// the change stream's consumer (-cdc) drops what the cache holds of it.
func (w *workload) raw(ctx context.Context, rng *rand.Rand, c int, in *instance, id int64) *Op {
	op := &Op{Client: c, Runtime: in.id, Kind: Raw, Call: w.now()}
	tx, err := in.db.BeginTxx(ctx, nil)
	if err != nil {
		op.Rollback = true
		return w.writeOutcome(op, err)
	}
	var old Row
	err = tx.QueryRowxContext(ctx, tx.Rebind("SELECT id, email, org, handle, version FROM accounts WHERE id = ? FOR UPDATE"), id).
		Scan(&old.ID, &old.Email, &old.Org, &old.Handle, &old.Version)
	stmt := "UPDATE accounts SET email = ?, org = ?, handle = ?, version = ? WHERE id = ?"
	nw := old
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// The rows only raw writers change come into being here too.
		nw = w.newRow(rng, id, nil, true)
		stmt = "INSERT INTO accounts (email, org, handle, version, id) VALUES (?, ?, ?, ?, ?)"
	case err != nil:
		_ = tx.Rollback()
		op.Rollback = true
		return w.writeOutcome(op, err)
	default:
		nw.Version = w.version.Add(1)
		if rng.IntN(3) == 0 {
			nw.Email = w.emails[rng.IntN(len(w.emails))]
		}
	}
	op.Writes = []Write{{Row: nw}}
	if _, err := tx.ExecContext(ctx, tx.Rebind(stmt), nw.Email, nw.Org, nw.Handle, nw.Version, nw.ID); err != nil {
		_ = tx.Rollback()
		op.Rollback = true
		return w.writeOutcome(op, err)
	}
	return w.writeOutcome(op, tx.Commit())
}
