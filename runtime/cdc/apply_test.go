package cdc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/store"
)

// fakeSource hands out the batches sent to it and records the acks.
type fakeSource struct {
	batches chan *Batch
	mu      sync.Mutex
	acked   []Position
}

func (s *fakeSource) Next(ctx context.Context) (*Batch, error) {
	select {
	case b := <-s.batches:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *fakeSource) Ack(_ context.Context, pos Position) error {
	s.mu.Lock()
	s.acked = append(s.acked, pos)
	s.mu.Unlock()
	return nil
}

func (s *fakeSource) Close() error { return nil }

// What the consumer cannot invalidate key by key it invalidates as a whole
// table, and only that: an update without its old row on a table with
// unique indexes, a row lacking a key column, a collapsed transaction, a
// truncate. A row lacking only other columns (an unchanged TOAST body) and
// a complete one go key by key; a table no model maps is skipped. Every
// batch is acknowledged, in order.
func TestConsumerConservative(t *testing.T) {
	sqlDB, _ := dbtest.OpenSQLite(t)
	mustExec(t, sqlDB, schema(t, "sqlite")...)
	mem := memoryStore(t)
	prefix := uniqueName()
	rs, reg := repos(t, &applyDB{db: sqlDB}, mem, prefix)
	src := &fakeSource{batches: make(chan *Batch)}
	d := &applyDB{db: sqlDB, schema: "public", open: func(context.Context, Position) (Source, error) { return src, nil }}
	c, _ := startConsumer(t, d, reg, mem, prefix)
	ready(t, c)
	ctx := context.Background()
	u := &model.User{Email: "ann@x", OrgID: 1, Handle: "ann", Name: "Ann"}
	if err := rs.Users.Save(ctx, u); err != nil {
		t.Fatal(err)
	}
	row := map[string]any{"id": u.ID, "email": "ann@x", "org_id": int64(1), "handle": "ann", "name": "Ann"}
	without := func(col string) map[string]any {
		r := map[string]any{}
		for k, v := range row {
			if k != col {
				r[k] = v
			}
		}
		return r
	}
	pkKey := fmt.Sprintf("%s:users:id=%d", prefix, u.ID)
	for i, cs := range []struct {
		name  string
		batch Batch
		whole uint64 // tables invalidated as a whole
	}{
		{"full images", Batch{Changes: []Change{{Table: "public.users", Op: Update, Old: row, New: row}}}, 0},
		{"no old row", Batch{Changes: []Change{{Table: "public.users", Op: Update, New: row, Partial: true}}}, 1},
		{"unchanged non-key column", Batch{Changes: []Change{{Table: "public.users", Op: Update, Old: row, New: without("name"), Unknown: []string{"name"}}}}, 0},
		{"unchanged key column", Batch{Changes: []Change{{Table: "public.users", Op: Update, Old: row, New: without("email"), Unknown: []string{"email"}}}}, 1},
		{"old row of the primary key only", Batch{Changes: []Change{{Table: "public.users", Op: Delete, Old: map[string]any{"id": u.ID}, Partial: true}}}, 1},
		{"collapsed", Batch{Collapsed: true, Tables: []string{"public.users", "public.posts"}}, 2},
		{"truncate", Batch{Changes: []Change{{Table: "public.users", Op: Truncate}}}, 1},
		{"unmapped table", Batch{Changes: []Change{{Table: "public.other", Op: Insert, New: map[string]any{"x": 1}}}}, 0},
	} {
		if _, err := rs.Users.GetByID(ctx, u.ID); err != nil { // cached
			t.Fatal(err)
		}
		if e, err := mem.Get(ctx, pkKey); err != nil || e.Kind != store.CachedRow {
			t.Fatalf("%s: %s holds %v, %v before the change", cs.name, pkKey, e.Kind, err)
		}
		before := c.Stats()
		b := cs.batch
		b.Position, b.Commit = Position(fmt.Sprint(i)), time.Now()
		src.batches <- &b
		waitFor(t, cs.name+" applied", func() bool { return c.Stats().Transactions > before.Transactions })
		after := c.Stats()
		if got := after.WholeTables - before.WholeTables; got != cs.whole {
			t.Errorf("%s: %d tables invalidated as a whole, want %d", cs.name, got, cs.whole)
		}
		e, err := mem.Get(ctx, pkKey)
		if dropped := err == nil && e.Kind == store.Absent; dropped == (cs.name == "unmapped table") {
			t.Errorf("%s: %s holds %v after the change", cs.name, pkKey, e.Kind)
		}
		if after.Position != b.Position {
			t.Errorf("%s: position %q, want %q", cs.name, after.Position, b.Position)
		}
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if fmt.Sprint(src.acked) != "[0 1 2 3 4 5 6 7]" {
		t.Errorf("acks %v, want every batch in order", src.acked)
	}
}
