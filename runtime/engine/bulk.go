package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Bulk writes: many rows in one transaction, with one lock phase and one
// release phase in the store for all their keys, and multi-row statements
// where the dialect allows them.

// maxBulkParams bounds the bind parameters of one statement, below every
// database's limit (PostgreSQL and MySQL 65,535, SQLite 32,766).
const maxBulkParams = 30000

// SaveMany saves every row as Save would, in one transaction: all or none.
// Rows with a zero primary key the database generates are inserted, one
// statement each (a multi-row INSERT does not say which key went to which
// row on every database); the others are read under the row lock with one
// SELECT … FOR UPDATE per chunk, then written with one multi-row statement
// per chunk: an upsert on the primary key on PostgreSQL and SQLite, and on
// MariaDB/MySQL a multi-row INSERT of the new rows and an UPDATE per
// existing row (its ON DUPLICATE KEY UPDATE would also fire on another
// unique index). Two rows with the same primary key are an error. Every key
// of the old and new rows and the All key are locked in one store round
// trip before commit and released in one after it. On error the rows are
// left as they were.
func (t *Table[T]) SaveMany(ctx context.Context, rows []*T) error {
	if len(rows) == 0 {
		return nil
	}
	before := make([]T, len(rows))
	var known []int          // rows with a primary key
	seen := map[string]int{} // by the pk's cache key: a pk may be a []byte
	for i, row := range rows {
		before[i] = *row
		if t.spec.AutoPK && t.spec.Mapper.PKIsZero(row) {
			continue
		}
		k := t.Key(0, row)
		if j, dup := seen[k]; dup {
			return fmt.Errorf("cachegen: SaveMany into %s: rows %d and %d have the same primary key %v", t.spec.Table, j, i, t.spec.Mapper.Values(row)[t.pkCol])
		}
		seen[k] = i
		known = append(known, i)
	}
	err := t.write(ctx, "save_many", func(ctx context.Context, tx *sqlx.Tx) ([]*T, error) {
		out := make([]*T, 0, 2*len(rows))
		for _, row := range rows {
			if t.spec.AutoPK && t.spec.Mapper.PKIsZero(row) {
				id, err := t.insertAuto(ctx, tx, t.withoutPK(t.spec.Mapper.Values(row)))
				if err != nil {
					return nil, err
				}
				t.spec.Mapper.SetPK(row, id)
				out = append(out, row)
			}
		}
		per := max(1, maxBulkParams/len(t.spec.Columns))
		for c := range slices.Chunk(known, per) {
			chunk := make([]*T, len(c))
			pks := make([]any, len(c))
			for k, i := range c {
				chunk[k] = rows[i]
				pks[k] = t.spec.Mapper.Values(rows[i])[t.pkCol]
			}
			olds, err := t.lockRows(ctx, tx, pks)
			if err != nil {
				return nil, err
			}
			out = append(out, olds...)
			out = append(out, chunk...)
			if err := t.writeRows(ctx, tx, chunk, olds); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
	if err != nil {
		for i, row := range rows {
			*row = before[i]
		}
	}
	return err
}

// DeleteMany deletes the rows whose primary keys are those of probes, in
// one transaction, and invalidates every key of them and the All key (one
// store round trip to lock, one to release). It returns how many rows it
// deleted; a key with no row is skipped. The deleted rows come back from
// one DELETE … RETURNING per chunk where the database has it (see
// Table.Delete), or else from one SELECT … FOR UPDATE before one DELETE.
func (t *Table[T]) DeleteMany(ctx context.Context, probes []*T) (int, error) {
	if len(probes) == 0 {
		return 0, nil
	}
	var pks []any
	seen := map[string]bool{} // by the pk's cache key: a pk may be a []byte
	for _, p := range probes {
		if k := t.Key(0, p); !seen[k] {
			seen[k] = true
			pks = append(pks, t.spec.Mapper.Values(p)[t.pkCol])
		}
	}
	returns := t.deleteReturns(ctx)
	n := 0
	err := t.write(ctx, "delete_many", func(ctx context.Context, tx *sqlx.Tx) ([]*T, error) {
		var out []*T
		n = 0
		for c := range slices.Chunk(pks, maxBulkParams) {
			var olds []*T
			var err error
			if returns {
				olds, err = t.queryRows(ctx, tx, t.inStatement("DELETE FROM", " RETURNING "+t.selectList(), len(c)), c)
			} else {
				if olds, err = t.lockRows(ctx, tx, c); err == nil && len(olds) > 0 {
					_, err = tx.ExecContext(ctx, t.inStatement("DELETE FROM", "", len(c)), c...)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("cachegen: delete from %s: %w", t.spec.Table, err)
			}
			n += len(olds)
			out = append(out, olds...)
		}
		return out, nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// lockRows reads the current rows with primary keys pks under the row lock
// (those that exist).
func (t *Table[T]) lockRows(ctx context.Context, tx *sqlx.Tx, pks []any) ([]*T, error) {
	if t.sql.lockRow != "" {
		// SQLite: take the write lock first, as lockRow does.
		if _, err := tx.ExecContext(ctx, t.inStatement("UPDATE", " SET "+t.pkName()+" = "+t.pkName(), len(pks)), pks...); err != nil {
			return nil, fmt.Errorf("cachegen: lock %s rows: %w", t.spec.Table, err)
		}
	}
	q := "SELECT " + t.selectList() + " FROM " + t.dialect.quoteTable(t.spec.Table) + " WHERE " + t.pkName() + " IN (" + t.placeholders(1, len(pks)) + ")"
	if t.dialect != SQLite {
		// In key order, so that two bulk writes lock their rows in one order.
		q += " ORDER BY " + t.pkName() + " FOR UPDATE"
	}
	olds, err := t.queryRows(ctx, tx, q, pks)
	if err != nil {
		return nil, fmt.Errorf("cachegen: read %s rows for update: %w", t.spec.Table, err)
	}
	return olds, nil
}

// writeRows writes rows whose primary keys are set; olds are those of
// them that exist, read under the row lock.
func (t *Table[T]) writeRows(ctx context.Context, tx *sqlx.Tx, rows, olds []*T) error {
	if t.dialect != MySQL || len(olds) == 0 {
		return t.insertRows(ctx, tx, rows)
	}
	// MariaDB/MySQL: an UPDATE per existing row, one INSERT of the rest.
	exists := make(map[string]bool, len(olds))
	for _, old := range olds {
		exists[t.Key(0, old)] = true
	}
	var fresh []*T
	for _, row := range rows {
		if !exists[t.Key(0, row)] {
			fresh = append(fresh, row)
			continue
		}
		if t.sql.update == "" {
			continue // the row is its primary key, which exists
		}
		vals := t.spec.Mapper.Values(row)
		if _, err := tx.ExecContext(ctx, t.sql.update, append(t.withoutPK(vals), vals[t.pkCol])...); err != nil {
			return fmt.Errorf("cachegen: update %s: %w", t.spec.Table, err)
		}
	}
	return t.insertRows(ctx, tx, fresh)
}

// insertRows inserts rows in one statement: on PostgreSQL and SQLite an
// upsert on the primary key (a conflict on another unique index is an
// error, as it is for Save); on MariaDB/MySQL a plain INSERT of rows that
// do not exist.
func (t *Table[T]) insertRows(ctx context.Context, tx *sqlx.Tx, rows []*T) error {
	if len(rows) == 0 {
		return nil
	}
	ncol := len(t.spec.Columns)
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.dialect.quoteTable(t.spec.Table) + " (" + t.selectList() + ") VALUES ")
	args := make([]any, 0, len(rows)*ncol)
	for k, row := range rows {
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + t.placeholders(len(args)+1, ncol) + ")")
		args = append(args, t.spec.Mapper.Values(row)...)
	}
	if t.dialect != MySQL {
		b.WriteString(" ON CONFLICT (" + t.pkName() + ") DO ")
		var sets []string
		for i, c := range t.spec.Columns {
			if i != t.pkCol {
				q := t.dialect.quote(c)
				sets = append(sets, q+" = excluded."+q)
			}
		}
		if len(sets) == 0 {
			b.WriteString("NOTHING")
		} else {
			b.WriteString("UPDATE SET " + strings.Join(sets, ", "))
		}
	}
	if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("cachegen: insert into %s: %w", t.spec.Table, err)
	}
	return nil
}

// queryRows runs q and scans every row it returns.
func (t *Table[T]) queryRows(ctx context.Context, tx *sqlx.Tx, q string, args []any) ([]*T, error) {
	rs, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*T
	for rs.Next() {
		row := new(T)
		if err := t.spec.Mapper.Scan(rs, row); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rs.Err()
}

// inStatement is "<verb> <table> WHERE pk IN (<n placeholders>)<tail>",
// or for an UPDATE "<verb> <table><tail> WHERE pk IN (…)".
func (t *Table[T]) inStatement(verb, tail string, n int) string {
	in := " WHERE " + t.pkName() + " IN (" + t.placeholders(1, n) + ")"
	if verb == "UPDATE" {
		return verb + " " + t.dialect.quoteTable(t.spec.Table) + tail + in
	}
	return verb + " " + t.dialect.quoteTable(t.spec.Table) + in + tail
}

func (t *Table[T]) pkName() string { return t.dialect.quote(t.spec.Columns[t.pkCol]) }

func (t *Table[T]) selectList() string {
	cols := make([]string, len(t.spec.Columns))
	for i, c := range t.spec.Columns {
		cols[i] = t.dialect.quote(c)
	}
	return strings.Join(cols, ", ")
}

// placeholders returns n bind parameters numbered from first.
func (t *Table[T]) placeholders(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.dialect.placeholder(first + i))
	}
	return b.String()
}
