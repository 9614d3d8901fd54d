package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/jmoiron/sqlx"
)

// The write figures: cachegen's Save and Delete against a raw transaction
// running the same statements on the same row shape, and against go-zero's
// Update, on each database of the run (a writeSide each).

// errPairDone ends a pairing early: the rows a delete pairing consumes ran
// out.
var errPairDone = errors.New("pair done")

// A writeSide is one database the write figures run on: the users table of
// examples/blog, seeded as openSchema seeds it, with the generated
// repository and go-zero's model on it.
type writeSide struct {
	suffix string // ends the names of its figures: "" on PostgreSQL, "_mariadb"
	db     *sqlx.DB
	users  *models.UserRepo
	gz     *gozeroUsers
}

// postgres tells the raw statements' dialect: PostgreSQL returns the
// inserted id with RETURNING, MariaDB with LastInsertId.
func (s *writeSide) postgres() bool { return s.db.DriverName() == "pgx" }

// writeOps are the writes the write pairs time.
type writeOps struct {
	cgUpdate, rawTxUpdate, gozeroUpdate func() error
	cgInsert, rawInsert                 func() error
	cgDelete, rawDelete                 func() error
}

func (s *writeSide) writeOps() *writeOps {
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
			return s.users.Save(ctx, &row)
		},
		rawTxUpdate: func() error {
			tx, err := s.db.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			var old models.User
			if err := tx.GetContext(ctx, &old, s.db.Rebind("SELECT id, email, org_id, handle, name FROM users WHERE id = ? FOR UPDATE"), rawID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.db.Rebind("UPDATE users SET email = ?, org_id = ?, handle = ?, name = ? WHERE id = ?"),
				old.Email, old.OrgID, old.Handle, fmt.Sprint("edit ", n.Add(1)), rawID); err != nil {
				return err
			}
			return tx.Commit()
		},
		gozeroUpdate: func() error {
			gzRow.Name = fmt.Sprint("edit ", n.Add(1))
			return s.gz.Update(ctx, &gzRow)
		},
		cgInsert: func() error {
			k := n.Add(1)
			u := &models.User{Email: fmt.Sprint("cg", k, "@insert.example.com"), OrgID: 1000, Handle: fmt.Sprint("cg", k), Name: "New"}
			if err := s.users.Save(ctx, u); err != nil {
				return err
			}
			cgIDs = append(cgIDs, u.ID)
			return nil
		},
		rawInsert: func() error {
			k := n.Add(1)
			tx, err := s.db.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			args := []any{fmt.Sprint("raw", k, "@insert.example.com"), 1000, fmt.Sprint("raw", k), "New"}
			const insert = "INSERT INTO users (email, org_id, handle, name) VALUES (?, ?, ?, ?)"
			var id int64
			if s.postgres() {
				if err := tx.QueryRowContext(ctx, s.db.Rebind(insert+" RETURNING id"), args...).Scan(&id); err != nil {
					return err
				}
			} else {
				res, err := tx.ExecContext(ctx, insert, args...)
				if err != nil {
					return err
				}
				if id, err = res.LastInsertId(); err != nil {
					return err
				}
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
			return s.users.Delete(ctx, id)
		},
		rawDelete: func() error {
			id, ok := pop(&rawIDs)
			if !ok {
				return errPairDone
			}
			tx, err := s.db.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, s.db.Rebind("DELETE FROM users WHERE id = ?"), id); err != nil {
				return err
			}
			return tx.Commit()
		},
	}
}

// writePairs are the write ratios of the performance targets, on each
// side. The delete pair deletes the rows the insert pair inserted (it runs
// after it in each round), and ends when they run out.
func (e *env) writePairs() []pair {
	var pairs []pair
	for _, s := range e.writeSides {
		ops := s.writeOps()
		pairs = append(pairs,
			pair{"save_overhead_vs_raw_tx" + s.suffix, ops.cgUpdate, ops.rawTxUpdate},
			pair{"save_vs_gozero_update" + s.suffix, ops.gozeroUpdate, ops.cgUpdate},
			pair{"insert_overhead_vs_raw" + s.suffix, ops.cgInsert, ops.rawInsert},
			pair{"delete_overhead_vs_raw" + s.suffix, ops.cgDelete, ops.rawDelete},
		)
	}
	return pairs
}

// writeFigures are each side's: one Save of row 1 (its name changed), and
// 100 rows saved one Save at a time and with one SaveMany.
func (e *env) writeFigures() []figure {
	var figures []figure
	for _, s := range e.writeSides {
		figures = append(figures, s.figures()...)
	}
	return figures
}

func (s *writeSide) figures() []figure {
	ctx := context.Background()
	must := func(b *testing.B, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
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
		{"save" + s.suffix, func(b *testing.B) {
			saved, err := s.users.GetByID(ctx, 1)
			must(b, err)
			u := *saved
			b.ReportAllocs()
			for b.Loop() {
				u.Name = fmt.Sprint("User number 1, edit ", n.Add(1))
				must(b, s.users.Save(ctx, &u))
			}
			u.Name = saved.Name
			must(b, s.users.Save(ctx, &u))
			_, err = s.users.GetByID(ctx, 1) // refill for the hit figures
			must(b, err)
		}},
		{"save_loop_100" + s.suffix, func(b *testing.B) {
			for b.Loop() {
				rename()
				for _, r := range rows {
					must(b, s.users.Save(ctx, r))
				}
			}
		}},
		{"save_many_100" + s.suffix, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rename()
				must(b, s.users.SaveMany(ctx, rows))
			}
		}},
	}
}
