package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cachegen/cachegen/examples/blog/models"
)

// The write figures: cachegen's Save and Delete against a raw transaction
// running the same statements on the same row shape, and against go-zero's
// Update.

// errPairDone ends a pairing early: the rows a delete pairing consumes ran
// out.
var errPairDone = errors.New("pair done")

// writeOps are the writes the write pairs time.
type writeOps struct {
	cgUpdate, rawTxUpdate, gozeroUpdate func() error
	cgInsert, rawInsert                 func() error
	cgDelete, rawDelete                 func() error
}

func (e *env) writeOps() *writeOps {
	ctx := context.Background()
	var n atomic.Int64
	// Rows 2, 3 and 4 as openSchema made them: not the hot row the read
	// figures hit.
	row := models.User{ID: 2, Email: "user2@example.com", OrgID: 2, Handle: "handle2"}
	gzRow := gozeroUser{ID: 3, Email: "user3@example.com", OrgID: 3, Handle: "handle3"}
	rawID := int64(4)
	var cgIDs, rawIDs []int64 // inserted by the insert pair, deleted by the delete pair
	pop := func(ids *[]int64) (int64, bool) {
		if len(*ids) == 0 {
			return 0, false
		}
		id := (*ids)[len(*ids)-1]
		*ids = (*ids)[:len(*ids)-1]
		return id, true
	}
	return &writeOps{
		cgUpdate: func() error {
			row.Name = fmt.Sprint("edit ", n.Add(1))
			return e.users.Save(ctx, &row)
		},
		rawTxUpdate: func() error {
			tx, err := e.db.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			var old models.User
			if err := tx.GetContext(ctx, &old, "SELECT id, email, org_id, handle, name FROM users WHERE id = $1 FOR UPDATE", rawID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE users SET email = $1, org_id = $2, handle = $3, name = $4 WHERE id = $5",
				old.Email, old.OrgID, old.Handle, fmt.Sprint("edit ", n.Add(1)), rawID); err != nil {
				return err
			}
			return tx.Commit()
		},
		gozeroUpdate: func() error {
			gzRow.Name = fmt.Sprint("edit ", n.Add(1))
			return e.gz.Update(ctx, &gzRow)
		},
		cgInsert: func() error {
			k := n.Add(1)
			u := &models.User{Email: fmt.Sprint("cg", k, "@insert.example.com"), OrgID: 1000, Handle: fmt.Sprint("cg", k), Name: "New"}
			if err := e.users.Save(ctx, u); err != nil {
				return err
			}
			cgIDs = append(cgIDs, u.ID)
			return nil
		},
		rawInsert: func() error {
			k := n.Add(1)
			tx, err := e.db.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			var id int64
			if err := tx.QueryRowContext(ctx, "INSERT INTO users (email, org_id, handle, name) VALUES ($1, $2, $3, $4) RETURNING id",
				fmt.Sprint("raw", k, "@insert.example.com"), 1000, fmt.Sprint("raw", k), "New").Scan(&id); err != nil {
				return err
			}
			if err := tx.Commit(); err != nil {
				return err
			}
			rawIDs = append(rawIDs, id)
			return nil
		},
		cgDelete: func() error {
			id, ok := pop(&cgIDs)
			if !ok {
				return errPairDone
			}
			return e.users.Delete(ctx, id)
		},
		rawDelete: func() error {
			id, ok := pop(&rawIDs)
			if !ok {
				return errPairDone
			}
			tx, err := e.db.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = $1", id); err != nil {
				return err
			}
			return tx.Commit()
		},
	}
}

// writePairs are the write ratios of the performance targets. The delete
// pair deletes the rows the insert pair inserted (it runs after it in each
// round), and ends when they run out.
func (e *env) writePairs() []pair {
	ops := e.writeOps()
	return []pair{
		{"save_overhead_vs_raw_tx", ops.cgUpdate, ops.rawTxUpdate},
		{"save_vs_gozero_update", ops.gozeroUpdate, ops.cgUpdate},
		{"insert_overhead_vs_raw", ops.cgInsert, ops.rawInsert},
		{"delete_overhead_vs_raw", ops.cgDelete, ops.rawDelete},
	}
}

// writeFigures: 100 rows saved one Save at a time and with one SaveMany.
func (e *env) writeFigures() []figure {
	ctx := context.Background()
	rows := make([]*models.User, 100)
	for i := range rows {
		rows[i] = &models.User{ID: int64(101 + i), Email: fmt.Sprint("user", 101+i, "@example.com"), OrgID: int64((101 + i) % 100),
			Handle: fmt.Sprint("handle", 101+i)}
	}
	var n atomic.Int64
	rename := func() {
		k := n.Add(1)
		for _, r := range rows {
			r.Name = fmt.Sprint("batch edit ", k)
		}
	}
	return []figure{
		{"save_loop_100", func(b *testing.B) {
			for b.Loop() {
				rename()
				for _, r := range rows {
					if err := e.users.Save(ctx, r); err != nil {
						b.Fatal(err)
					}
				}
			}
		}},
		{"save_many_100", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rename()
				if err := e.users.SaveMany(ctx, rows); err != nil {
					b.Fatal(err)
				}
			}
		}},
	}
}
